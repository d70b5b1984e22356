{#- Layer schemas are used as named (staging, intermediate, marts), without the target prefix,
    so Superset datasets and Dagster groups can rely on stable schema names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
