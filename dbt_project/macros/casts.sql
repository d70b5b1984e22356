{#- Parsing string values (Bitrix24, files) into types. Empty strings are nulls. -#}

{#- A number sent as a string ("19999.99", "", null) to numeric. -#}
{% macro to_numeric(expression) -%}
    cast(nullif(trim({{ expression }}), '') as {{ dbt.type_numeric() }})
{%- endmacro %}

{#- Integer sent as a string. -#}
{% macro to_int(expression) -%}
    cast(nullif(trim({{ expression }}), '') as {{ dbt.type_int() }})
{%- endmacro %}

{#- "Y"/"N", "true"/"false", "1"/"0" to boolean; anything else to null. -#}
{% macro to_bool(expression) -%}
    case
        when upper(trim({{ expression }})) in ('Y', 'TRUE', '1') then true
        when upper(trim({{ expression }})) in ('N', 'FALSE', '0') then false
    end
{%- endmacro %}

{#- ISO-8601 datetime with an offset ("2024-08-30T14:29:00+02:00") to timestamp with time zone. -#}
{% macro to_timestamptz(expression) -%}
    {{ return(adapter.dispatch('to_timestamptz')(expression)) }}
{%- endmacro %}

{% macro default__to_timestamptz(expression) -%}
    cast(nullif(trim({{ expression }}), '') as timestamp with time zone)
{%- endmacro %}

{#- ISO date ("2025-03-01" or a datetime) to date. -#}
{% macro to_date(expression) -%}
    {{ return(adapter.dispatch('to_date')(expression)) }}
{%- endmacro %}

{% macro default__to_date(expression) -%}
    cast(substring(nullif(trim({{ expression }}), '') from 1 for 10) as date)
{%- endmacro %}

{#- Bitrix24 link fields: null, "", "0" all mean "no link". -#}
{% macro to_link(expression) -%}
    nullif(nullif(trim({{ expression }}), ''), '0')
{%- endmacro %}

{#- Calendar day of a timestamptz in the portal's time zone (var portal_timezone). -#}
{% macro portal_date(expression) -%}
    {{ return(adapter.dispatch('portal_date')(expression)) }}
{%- endmacro %}

{% macro default__portal_date(expression) -%}
    cast(timezone('{{ var("portal_timezone") }}', {{ expression }}) as date)
{%- endmacro %}

{#- Link to a CRM record in the portal: portal_link("'deal'", 'deal_id') -> https://<portal>/crm/deal/details/<id>/ -#}
{% macro portal_link(entity, id_expression) -%}
    {{ dbt.concat(["'" ~ var('bitrix24_portal_url').rstrip('/') ~ "/crm/" ~ entity ~ "/details/'", id_expression, "'/'"]) }}
{%- endmacro %}

{#- Median of a numeric expression as an aggregate (Postgres: percentile_cont). -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}
