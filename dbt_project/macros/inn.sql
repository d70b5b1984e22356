{#- ИНН check-digit validation (ФНС algorithm). 10 digits: weights 2,4,10,3,5,9,4,6,8 over the
    first nine digits, (sum mod 11) mod 10 = 10th digit. 12 digits: weights 7,2,4,10,3,5,9,4,6,8
    over the first ten = 11th digit, and 3,7,2,4,10,3,5,9,4,6,8 over the first eleven = 12th.
    Null, non-digit or wrong-length values are invalid (false, never null). -#}

{% macro _inn_checksum(col, weights) -%}
    mod(mod(
    {%- for w in weights %}
        {{ w }} * cast(substr({{ col }}, {{ loop.index }}, 1) as integer){{ ' +' if not loop.last }}
    {%- endfor %}
    , 11), 10)
{%- endmacro %}

{% macro _inn_digit(col, position) -%}
    cast(substr({{ col }}, {{ position }}, 1) as integer)
{%- endmacro %}

{% macro is_valid_inn(col) -%}
    (case
        when {{ col }} is null then false
        when {{ digits_only_match(col, 10) }}
            then {{ _inn_checksum(col, [2, 4, 10, 3, 5, 9, 4, 6, 8]) }} = {{ _inn_digit(col, 10) }}
        when {{ digits_only_match(col, 12) }}
            then {{ _inn_checksum(col, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) }} = {{ _inn_digit(col, 11) }}
            and {{ _inn_checksum(col, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) }} = {{ _inn_digit(col, 12) }}
        else false
    end)
{%- endmacro %}

{% macro digits_only_match(col, length) -%}
    ({{ col }} ~ '^[0-9]{ {{- length -}} }$')
{%- endmacro %}

{#- A КПП whose 5th-6th digits are a separate-division code (02-05, 31, 32) marks a branch:
    the branch is its own client. -#}
{% macro is_branch_kpp(col) -%}
    (coalesce({{ digits_only_match(col, 9) }}, false) and substr({{ col }}, 5, 2) in ('02', '03', '04', '05', '31', '32'))
{%- endmacro %}

{#- The client identity key (documented in docs/kpi_variables.md and dim_clients):
    valid ИНН → the ИНН, plus '-' and the КПП for a branch; otherwise
    '<system>:<record id>' so the record stays visible and unmatched. -#}
{% macro client_identity_key(inn, kpp, system, record_id) -%}
    case
        when {{ is_valid_inn(inn) }} and {{ is_branch_kpp(kpp) }} then {{ dbt.concat([inn, "'-'", kpp]) }}
        when {{ is_valid_inn(inn) }} then {{ inn }}
        else {{ dbt.concat([system, "':'", record_id]) }}
    end
{%- endmacro %}
