{#- Model config that only one engine understands. -#}

{#- Postgres b-tree indexes of a model (config `indexes`); none elsewhere (dbt-clickhouse reads
    `indexes` as data-skipping indexes of another shape: the ORDER BY key plays that part). -#}
{% macro postgres_indexes(indexes) -%}
    {{ return(indexes if target.type == 'postgres' else []) }}
{%- endmacro %}

{#- lower() of any text (ClickHouse's lower() changes ASCII letters only: Cyrillic needs lowerUTF8). -#}
{% macro lower_text(expr) -%}
    {{ return(adapter.dispatch('lower_text')(expr)) }}
{%- endmacro %}

{% macro default__lower_text(expr) -%}
    lower({{ expr }})
{%- endmacro %}

{% macro clickhouse__lower_text(expr) -%}
    lowerUTF8({{ expr }})
{%- endmacro %}
