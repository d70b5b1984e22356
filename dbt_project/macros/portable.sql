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

{#- round(expr, digits) with halves away from zero, as PostgreSQL's numeric round() does
    (round(3.125, 2) = 3.13). ClickHouse rounds a Float64's halves to even (3.12) and rounds a Decimal's
    away from zero, so there the value goes through a Decimal first. The cast truncates (0.015 is
    stored as 0.01499999…, 1.005 as 1.00499999…), so it keeps 12 places and rounds to 9 before rounding
    to the digits asked: 0.015 -> 0.02 and 1.005 -> 1.01, as on PostgreSQL. The result stays a
    Decimal, so a label that rounds it again (kpi_value_label) rounds halves away from zero too. -#}
{% macro round_half_away(expr, digits) -%}
    {{ return(adapter.dispatch('round_half_away')(expr, digits)) }}
{%- endmacro %}

{% macro default__round_half_away(expr, digits) -%}
    round({{ expr }}, {{ digits }})
{%- endmacro %}

{% macro clickhouse__round_half_away(expr, digits) -%}
    round(round(toDecimal128({{ expr }}, 12), 9), {{ digits }})
{%- endmacro %}
