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

{#- A float expression (100.0 * a / b) as the Decimal the other branches of its union carry, on
    ClickHouse only (a union of Float64 and Decimal is a Variant there; Postgres unites numeric with
    anything numeric and keeps the expression as it is). -#}
{% macro decimal_on_clickhouse(expr) -%}
    {{ return(adapter.dispatch('decimal_on_clickhouse')(expr)) }}
{%- endmacro %}

{% macro default__decimal_on_clickhouse(expr) -%}
    {{ expr }}
{%- endmacro %}

{% macro clickhouse__decimal_on_clickhouse(expr) -%}
    {{ dbt.safe_cast(expr, dbt.type_numeric()) }}
{%- endmacro %}
