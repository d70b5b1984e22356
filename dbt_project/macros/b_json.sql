{#- dbt-B: JSON access behind macros, so another adapter (ClickHouse) can override them
    with adapter.dispatch. Postgres implementations use jsonb operators. -#}

{#- Text value of a top-level key of a jsonb column; '' and JSON null become SQL null. -#}
{% macro b_json_text(column, key) -%}
    {{ return(adapter.dispatch('b_json_text')(column, key)) }}
{%- endmacro %}

{% macro default__b_json_text(column, key) -%}
    nullif(trim({{ column }} ->> '{{ key }}'), '')
{%- endmacro %}

{#- Text value of a nested key path, e.g. b_json_path_text('payload', ['EXTRA', 'SEMANTICS']). -#}
{% macro b_json_path_text(column, keys) -%}
    {{ return(adapter.dispatch('b_json_path_text')(column, keys)) }}
{%- endmacro %}

{% macro default__b_json_path_text(column, keys) -%}
    nullif(trim({{ column }} #>> '{ {{- keys | join(',') -}} }'), '')
{%- endmacro %}

{#- Element number `index` (0-based) of a JSON array stored under `key`, as text. -#}
{% macro b_json_array_item_text(column, key, index) -%}
    {{ return(adapter.dispatch('b_json_array_item_text')(column, key, index)) }}
{%- endmacro %}

{% macro default__b_json_array_item_text(column, key, index) -%}
    nullif(trim(
        case
            when jsonb_typeof({{ column }} -> '{{ key }}') = 'array'
                then {{ column }} -> '{{ key }}' ->> {{ index }}
        end
    ), '')
{%- endmacro %}

{#- A JSON array under `key` rendered as comma-separated text ('1,5'); scalars stay as they are. -#}
{% macro b_json_array_joined_text(column, key) -%}
    {{ return(adapter.dispatch('b_json_array_joined_text')(column, key)) }}
{%- endmacro %}

{% macro default__b_json_array_joined_text(column, key) -%}
    nullif(
        case
            when jsonb_typeof({{ column }} -> '{{ key }}') = 'array'
                then translate(cast({{ column }} -> '{{ key }}' as text), '[] "', '')
            else {{ column }} ->> '{{ key }}'
        end,
        ''
    )
{%- endmacro %}
