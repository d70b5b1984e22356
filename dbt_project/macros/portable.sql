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

{#- factor × numerator [/ denominator] as a decimal on both engines, for a ratio of integers or
    Decimals (shares, percentages). PostgreSQL renders it as written (`100.0 * a / b`: numeric, ~16
    significant digits). ClickHouse reads 1.0 and 100.0 as Float64: a share such as 0.1667 is then a
    binary fraction, a sum of them lands a hair below (0.3333 + 0.3333 + 0.5 = 1.1665999…), a later
    cast to a Decimal truncates (1.166599) and round() takes a Float64's halves to even; there the
    numerator goes through Decimal(38, 12) and the factor stays an integer, so the quotient is a
    Decimal cut at 12 places and round() takes its halves away from zero, as PostgreSQL. -#}
{% macro decimal_ratio(numerator, denominator=none, factor=1) -%}
    {{ return(adapter.dispatch('decimal_ratio')(numerator, denominator, factor)) }}
{%- endmacro %}

{% macro default__decimal_ratio(numerator, denominator, factor) -%}
    {{ factor | int }}.0 * {{ numerator }}{{ ' / ' ~ denominator if denominator is not none }}
{%- endmacro %}

{% macro clickhouse__decimal_ratio(numerator, denominator, factor) -%}
    cast({{ numerator }} as Nullable(Decimal(38, 12)))
    {{- ' * ' ~ (factor | int) if (factor | int) != 1 }}{{ ' / ' ~ denominator if denominator is not none }}
{%- endmacro %}

{#- A hook that runs `statements` (a list of SQL texts) in order; `select 1` when there are none.
    PostgreSQL takes them as one hook text, `;`-separated; a ClickHouse hook is one statement, so
    there the macro runs them itself (clickhouse__hook_statements). -#}
{% macro hook_statements(statements) -%}
    {{ return(adapter.dispatch('hook_statements')(statements)) }}
{%- endmacro %}

{% macro default__hook_statements(statements) -%}
    {{ statements | join(';\n') if statements else 'select 1' }}
{%- endmacro %}
