{#- Model config that only one engine understands. -#}

{#- Postgres b-tree indexes of a model (config `indexes`); none elsewhere (dbt-clickhouse reads
    `indexes` as data-skipping indexes of another shape: the ORDER BY key plays that part). -#}
{% macro postgres_indexes(indexes) -%}
    {{ return(indexes if target.type == 'postgres' else []) }}
{%- endmacro %}
