{#- JSON access for raw payloads. Postgres jsonb here; another adapter overrides these two macros. -#}

{% macro json_text(column, key) -%}
    ({{ column }} ->> '{{ key }}')
{%- endmacro %}

{#- A join clause unnesting the JSON array `json_expr` into rows of `alias`.element (one JSON
    object per row); a missing or null array yields no rows. -#}
{% macro json_array_join(json_expr, alias) -%}
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof({{ json_expr }}) = 'array' then {{ json_expr }} else cast('[]' as jsonb) end
    ) as {{ alias }} (element)
{%- endmacro %}

{% macro json_path(column, key) -%}
    ({{ column }} -> '{{ key }}')
{%- endmacro %}
