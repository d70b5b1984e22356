{#- JSON access for raw payloads, behind adapter.dispatch so another adapter (ClickHouse) can
    override them. Postgres implementations use jsonb operators.

    Every *_text macro returns the value trimmed, with '' and JSON null as SQL null: a key that is
    absent, null or blank is "no value" in every source (1C, Bitrix24, files). -#}

{#- Text value of a top-level key of a jsonb column. -#}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text')(column, key)) }}
{%- endmacro %}

{% macro default__json_text(column, key) -%}
    nullif(trim({{ column }} ->> '{{ key }}'), '')
{%- endmacro %}

{#- A join clause unnesting the JSON array `json_expr` into rows of `alias`.element (one JSON
    object per row); a missing or null array yields no rows. -#}
{% macro json_array_join(json_expr, alias) -%}
    {{ return(adapter.dispatch('json_array_join')(json_expr, alias)) }}
{%- endmacro %}

{% macro default__json_array_join(json_expr, alias) -%}
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof({{ json_expr }}) = 'array' then {{ json_expr }} else cast('[]' as jsonb) end
    ) as {{ alias }} (element)
{%- endmacro %}

{% macro json_path(column, key) -%}
    {{ return(adapter.dispatch('json_path')(column, key)) }}
{%- endmacro %}

{% macro default__json_path(column, key) -%}
    ({{ column }} -> '{{ key }}')
{%- endmacro %}

{#- Text value of a nested key path, e.g. json_path_text('payload', ['EXTRA', 'SEMANTICS']). -#}
{% macro json_path_text(column, keys) -%}
    {{ return(adapter.dispatch('json_path_text')(column, keys)) }}
{%- endmacro %}

{% macro default__json_path_text(column, keys) -%}
    nullif(trim({{ column }} #>> '{ {{- keys | join(',') -}} }'), '')
{%- endmacro %}

{#- Element number `index` (0-based) of a JSON array stored under `key`, as text. -#}
{% macro json_array_item_text(column, key, index) -%}
    {{ return(adapter.dispatch('json_array_item_text')(column, key, index)) }}
{%- endmacro %}

{% macro default__json_array_item_text(column, key, index) -%}
    nullif(trim(
        case
            when jsonb_typeof({{ column }} -> '{{ key }}') = 'array'
                then {{ column }} -> '{{ key }}' ->> {{ index }}
        end
    ), '')
{%- endmacro %}

{#- A JSON array under `key` rendered as comma-separated text ('1,5'); scalars stay as they are. -#}
{% macro json_array_joined_text(column, key) -%}
    {{ return(adapter.dispatch('json_array_joined_text')(column, key)) }}
{%- endmacro %}

{% macro default__json_array_joined_text(column, key) -%}
    nullif(
        case
            when jsonb_typeof({{ column }} -> '{{ key }}') = 'array'
                then translate(cast({{ column }} -> '{{ key }}' as text), '[] "', '')
            else {{ column }} ->> '{{ key }}'
        end,
        ''
    )
{%- endmacro %}
