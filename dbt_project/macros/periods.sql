{#- Periods: calendar month, quarter, half-year ('half': H1 = January–June, H2 = July–December),
    year. period_end is exclusive. -#}

{% macro as_of_date() -%}
    {%- if var('as_of_date') is none -%}
        current_date
    {%- else -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- endif -%}
{%- endmacro %}

{% macro add_months(date_expr, months) -%}
    cast({{ dbt.dateadd('month', months, date_expr) }} as date)
{%- endmacro %}

{% macro add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{#- Like for like (docs/kpi.md, «Period»): the exclusive end of the base part that matches a period
    elapsed up to the day date_expr (inclusive), in a base `months` months earlier. Whole months
    match whole months: a date_expr on the last day of its month matches the whole base month
    (29.02.2024 and 28.02.2025 both match the other February whole); any other day matches the
    same day of the base month, capped at that month's last day (30.03 one month back is 28.02). -#}
{% macro to_date_end_shifted(date_expr, months) -%}
    (case
        when {{ date_part_macro('day', add_days(date_expr, 1)) }} = 1
            then {{ add_months(add_days(date_expr, 1), '-1 * (' ~ months ~ ')') }}
        else {{ add_days(add_months(date_expr, '-1 * (' ~ months ~ ')'), 1) }}
    end)
{%- endmacro %}

{#- The Russian label of a period elapsed up to the day last_day_col: «с начала года по 31.10»,
    «с начала полугодия / квартала / месяца по …». -#}
{% macro to_date_suffix_ru(grain_col, last_day_col) -%}
    (' (с начала ' || case {{ grain_col }}
        when 'month' then 'месяца'
        when 'quarter' then 'квартала'
        when 'half' then 'полугодия'
        else 'года'
    end || ' по ' || to_char({{ last_day_col }}, 'DD.MM') || ')')
{%- endmacro %}

{#- The period grains, shortest first. -#}
{% macro period_grains() -%}
    {{ return(['month', 'quarter', 'half', 'year']) }}
{%- endmacro %}

{% macro period_months(grain) -%}
    {%- if grain == 'month' -%}1{%- elif grain == 'quarter' -%}3{%- elif grain == 'half' -%}6{%- elif grain == 'year' -%}12
    {%- else -%}{{ exceptions.raise_compiler_error("period grain must be month, quarter, half or year, got " ~ grain) }}{%- endif -%}
{%- endmacro %}

{#- Number of months in a period whose grain is held in a column. -#}
{% macro period_months_of(grain_col) -%}
    (case {{ grain_col }} when 'month' then 1 when 'quarter' then 3 when 'half' then 6 when 'year' then 12 end)
{%- endmacro %}

{% macro period_start_of(grain, date_expr) -%}
    {%- if grain == 'half' -%}
        {{ add_months(dbt.date_trunc('year', date_expr), '6 * (' ~ date_part_macro('month', date_expr) ~ ' / 7)') }}
    {%- else -%}
        cast({{ dbt.date_trunc(grain, date_expr) }} as date)
    {%- endif -%}
{%- endmacro %}

{#- '2025-03', '2025-Q1', '2025-H1', '2025'. -#}
{% macro period_label(grain_col, start_col) -%}
    (case {{ grain_col }}
        when 'month' then to_char({{ start_col }}, 'YYYY-MM')
        when 'quarter' then to_char({{ start_col }}, 'YYYY') || '-Q' || to_char({{ start_col }}, 'Q')
        when 'half' then to_char({{ start_col }}, 'YYYY') || '-H' || cast({{ date_part_macro('month', start_col) }} / 7 + 1 as text)
        else to_char({{ start_col }}, 'YYYY')
    end)
{%- endmacro %}

{#- One row per day from start_expr to end_expr inclusive, column date_day. -#}
{% macro date_series(start_expr, end_expr) -%}
    select cast(series.day_at as date) as date_day
    from generate_series(cast({{ start_expr }} as timestamp), cast({{ end_expr }} as timestamp), interval '1 day') as series (day_at)
{%- endmacro %}

{#- One row per month start from start_expr to end_expr inclusive, column month_start. -#}
{% macro month_series(start_expr, end_expr) -%}
    select cast(series.month_at as date) as month_start
    from generate_series(cast({{ start_expr }} as timestamp), cast({{ end_expr }} as timestamp), interval '1 month') as series (month_at)
{%- endmacro %}

{#- numerator / denominator as a decimal, null (not an error) when the denominator is 0 or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as {{ dbt.type_numeric() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}


{% macro date_part_macro(part, expr) -%}
    cast(extract({{ part }} from {{ expr }}) as integer)
{%- endmacro %}

{#- The rows of `relation` once per period grain, with period_grain and period_start (the
    period of that grain holding date_expr) in front of `columns` (a list of select expressions).
    One union branch per grain, so period_start is a plain expression that a join to int_periods
    on (period_grain, period_start) can hash, never a per-row CASE over all periods. -#}
{% macro rows_per_grain(relation, date_expr, columns, where=none) -%}
    {%- for grain in period_grains() %}
        select
            '{{ grain }}' as period_grain,
            {{ period_start_of(grain, date_expr) }} as period_start,
            {{ columns | join(',\n            ') }}
        from {{ relation }}
        {%- if where %}
        where {{ where }}
        {%- endif %}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Post-hook of the mart tables (dbt_project.yml): fresh statistics for the models built on them. -#}
{% macro analyze_table() -%}
    {%- if model.config.materialized == 'table' -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
