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
    {{ return(adapter.dispatch('to_date_suffix_ru')(grain_col, last_day_col)) }}
{%- endmacro %}

{% macro default__to_date_suffix_ru(grain_col, last_day_col) -%}
    (' (с начала ' || case {{ grain_col }}
        when 'month' then 'месяца'
        when 'quarter' then 'квартала'
        when 'half' then 'полугодия'
        else 'года'
    end || ' по ' || to_char({{ last_day_col }}, 'DD.MM') || ')')
{%- endmacro %}

{#- The period grains, shortest first; 'custom' (the pair of var compare_periods) last, when set. -#}
{% macro period_grains() -%}
    {%- if compare_periods() is none -%}
        {{ return(['month', 'quarter', 'half', 'year']) }}
    {%- else -%}
        {{ return(['month', 'quarter', 'half', 'year', 'custom']) }}
    {%- endif -%}
{%- endmacro %}

{#- var compare_periods: an arbitrary pair of periods computed as the extra grain 'custom'
    (every mart built on int_periods / rows_per_grain gets it; client_stability compares the
    current period with the base period). Forms (dates inclusive):
      'YYYY-MM-DD..YYYY-MM-DD:YYYY-MM-DD..YYYY-MM-DD'  current period : base period
      'YYYY-MM-DD..YYYY-MM-DD'                         current period only (no base)
      'all'                                            the whole history to as_of_date, no base
    (`happyclient --compare` also takes period names, 2026-H2:2026-H1, and passes dates.)
    Returns none when unset, else a dict of SQL date literals: current_start, current_end,
    base_start, base_end (ends exclusive; base_* none without a base) and the labels. -#}
{% macro compare_periods() -%}
    {%- set text = var('compare_periods', none) -%}
    {%- if text is none or (text | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = text | string | trim -%}
    {%- set parts = text.split(':') -%}
    {%- if parts | length > 2 -%}
        {{ exceptions.raise_compiler_error("var compare_periods: at most one ':' (current:base), got '" ~ text ~ "'") }}
    {%- endif -%}
    {%- set out = {} -%}
    {%- for part in parts -%}
        {%- set role = 'current' if loop.first else 'base' -%}
        {%- if part | trim == 'all' and loop.first and parts | length == 1 -%}
            {%- do out.update({'current_start': "cast('1900-01-01' as date)",
                               'current_end': add_days(as_of_date(), 1), 'current_label': 'all'}) -%}
        {%- else -%}
            {%- set bounds = (part | trim).split('..') -%}
            {%- if bounds | length != 2 -%}
                {{ exceptions.raise_compiler_error(
                    "var compare_periods: a period is FIRST..LAST (YYYY-MM-DD..YYYY-MM-DD) or 'all' alone, got '" ~ part ~ "'") }}
            {%- endif -%}
            {%- set first = modules.datetime.date.fromisoformat(bounds[0] | trim) -%}
            {%- set last = modules.datetime.date.fromisoformat(bounds[1] | trim) -%}
            {%- if last < first -%}
                {{ exceptions.raise_compiler_error("var compare_periods: the " ~ role ~ " period ends before it starts: '" ~ part ~ "'") }}
            {%- endif -%}
            {%- do out.update({
                role ~ '_first': first, role ~ '_last': last,
                role ~ '_start': "cast('" ~ first.isoformat() ~ "' as date)",
                role ~ '_end': "cast('" ~ (last + modules.datetime.timedelta(days=1)).isoformat() ~ "' as date)",
                role ~ '_label': first.isoformat() ~ '..' ~ last.isoformat(),
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if 'base_first' in out and not (out['base_last'] < out['current_first'] or out['current_last'] < out['base_first']) -%}
        {{ exceptions.raise_compiler_error("var compare_periods: the current and base periods overlap: '" ~ text ~ "'") }}
    {%- endif -%}
    {%- if 'base_start' not in out -%}
        {%- do out.update({'base_start': none, 'base_end': none, 'base_label': none}) -%}
    {%- endif -%}
    {{ return(out) }}
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
    {%- if grain == 'custom' -%}
        {%- set pair = compare_periods() -%}
        (case
            when {{ date_expr }} >= {{ pair.current_start }} and {{ date_expr }} < {{ pair.current_end }} then {{ pair.current_start }}
            {%- if pair.base_start %}
            when {{ date_expr }} >= {{ pair.base_start }} and {{ date_expr }} < {{ pair.base_end }} then {{ pair.base_start }}
            {%- endif %}
        end)
    {%- elif grain == 'half' -%}
        {{ add_months(dbt.date_trunc('year', date_expr), '6 * ' ~ integer_divide(date_part_macro('month', date_expr), '7')) }}
    {%- else -%}
        cast({{ dbt.date_trunc(grain, date_expr) }} as date)
    {%- endif -%}
{%- endmacro %}

{#- '2025-03', '2025-Q1', '2025-H1', '2025'. -#}
{% macro period_label(grain_col, start_col) -%}
    {{ return(adapter.dispatch('period_label')(grain_col, start_col)) }}
{%- endmacro %}

{% macro default__period_label(grain_col, start_col) -%}
    (case {{ grain_col }}
        when 'month' then to_char({{ start_col }}, 'YYYY-MM')
        when 'quarter' then to_char({{ start_col }}, 'YYYY') || '-Q' || to_char({{ start_col }}, 'Q')
        when 'half' then to_char({{ start_col }}, 'YYYY') || '-H' || cast({{ date_part_macro('month', start_col) }} / 7 + 1 as text)
        else to_char({{ start_col }}, 'YYYY')
    end)
{%- endmacro %}

{#- Integer division (Postgres: integer / integer truncates; ClickHouse's / is a float division). -#}
{% macro integer_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('integer_divide')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__integer_divide(numerator, denominator) -%}
    ({{ numerator }} / {{ denominator }})
{%- endmacro %}

{#- `cross join` of the integers first..last as `alias`.`column`. -#}
{% macro integer_series_join(first, last, alias, column) -%}
    {{ return(adapter.dispatch('integer_series_join')(first, last, alias, column)) }}
{%- endmacro %}

{% macro default__integer_series_join(first, last, alias, column) -%}
    cross join generate_series({{ first }}, {{ last }}) as {{ alias }} ({{ column }})
{%- endmacro %}

{#- One row per day from start_expr to end_expr inclusive, column date_day. -#}
{% macro date_series(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('date_series')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__date_series(start_expr, end_expr) -%}
    select cast(series.day_at as date) as date_day
    from generate_series(cast({{ start_expr }} as timestamp), cast({{ end_expr }} as timestamp), interval '1 day') as series (day_at)
{%- endmacro %}

{#- One row per month start from start_expr to end_expr inclusive, column month_start. -#}
{% macro month_series(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('month_series')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__month_series(start_expr, end_expr) -%}
    select cast(series.month_at as date) as month_start
    from generate_series(cast({{ start_expr }} as timestamp), cast({{ end_expr }} as timestamp), interval '1 month') as series (month_at)
{%- endmacro %}

{#- numerator / denominator as a decimal, null (not an error) when the denominator is 0 or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('safe_divide')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__safe_divide(numerator, denominator) -%}
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
        {%- if grain == 'custom' %}
        where {{ period_start_of(grain, date_expr) }} is not null{{ ' and (' ~ where ~ ')' if where }}
        {%- elif where %}
        where {{ where }}
        {%- endif %}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Post-hook of the mart tables (dbt_project.yml): fresh statistics for the models built on them. -#}
{% macro analyze_table() -%}
    {{ return(adapter.dispatch('analyze_table')()) }}
{%- endmacro %}

{% macro default__analyze_table() -%}
    {%- if model.config.materialized == 'table' -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
