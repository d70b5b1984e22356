{#- Calendar periods (month, quarter, half-year, year; macro period_grains) from the first sale's
    year to as_of_date; with var compare_periods also the grain 'custom': its current period
    (prev_period_start and sply_period_start = the base period's start) and its base period.
    A table (a few hundred rows, rebuilt each run): as a view every test on it and every mart
    reading it found the first sale again over all 1C documents and file lines. -#}
{{ config(materialized='table', post_hook=["{{ analyze_table() }}"]) }}
{%- set pair = compare_periods() -%}
{%- set custom_base_end = (pair.base_end if pair is not none and pair.base_end) or 'final.period_start' -%}
with

stg_onec__sales_documents as (

    select * from {{ ref('stg_onec__sales_documents') }}

),

stg_onec__returns as (

    select * from {{ ref('stg_onec__returns') }}

),

stg_files__sales_lines as (

    select * from {{ ref('stg_files__sales_lines') }}

),

sale_dates as (

    select sale_doc.document_date as sale_date from stg_onec__sales_documents as sale_doc
    union all
    select return_doc.document_date as sale_date from stg_onec__returns as return_doc
    union all
    select file_line.sold_on as sale_date from stg_files__sales_lines as file_line

),

bounds as (

    select
        {{ period_start_of('year', 'coalesce(min(sale_dates.sale_date), ' ~ as_of_date() ~ ')') }} as first_day,
        {{ as_of_date() }} as last_day,
        {{ period_start_of('month', 'min(sale_dates.sale_date)') }} as data_start_month
    from sale_dates
    where sale_dates.sale_date <= {{ as_of_date() }}

),

months as (

    {{ month_series('(select bounds.first_day from bounds)', '(select bounds.last_day from bounds)') }}

),

grains as (

    {% for grain in period_grains() if grain != 'custom' %}
        select distinct
            '{{ grain }}' as period_grain,
            {{ period_start_of(grain, 'months.month_start') }} as period_start
        from months
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        grains.period_grain,
        grains.period_start,
        {{ add_months('grains.period_start', period_months_of('grains.period_grain')) }} as period_end,
        {{ period_label('grains.period_grain', 'grains.period_start') }} as period_label,
        {{ add_months('grains.period_start', '-1 * ' ~ period_months_of('grains.period_grain')) }} as prev_period_start,
        {{ add_months('grains.period_start', -12) }} as sply_period_start,
        {{ add_months('grains.period_start', period_months_of('grains.period_grain')) }}
        <= {{ add_days(as_of_date(), 1) }} as is_complete,
        (select bounds.data_start_month from bounds) as data_start_month
    from grains
    {%- if pair is not none %}
    {%- for role in (['current', 'base'] if pair.base_start else ['current']) %}

    union all

    select
        'custom' as period_grain,
        {{ pair[role ~ '_start'] }} as period_start,
        {{ pair[role ~ '_end'] }} as period_end,
        '{{ pair[role ~ "_label"] }}' as period_label,
        {{ pair.base_start if role == 'current' and pair.base_start else 'cast(null as date)' }} as prev_period_start,
        {{ pair.base_start if role == 'current' and pair.base_start else 'cast(null as date)' }} as sply_period_start,
        {{ pair[role ~ '_end'] }} <= {{ add_days(as_of_date(), 1) }} as is_complete,
        (select bounds.data_start_month from bounds) as data_start_month
    {%- endfor %}
    {%- endif %}

),

{# Like for like (docs/kpi.md, «Period»): the unfinished period (the one holding as_of_date) counts
    up to as_of_date, and every base it is compared with is cut to the same elapsed part
    (macro to_date_end_shifted). A complete period keeps its whole base. Ends are exclusive. #}
to_date as (

    select
        final.*,
        {#- the custom pair (var compare_periods) is compared whole: its base ends where the pair's base ends
            (without a base: at its own start, i.e. an empty base) #}
        not final.is_complete and final.period_grain != 'custom' as is_period_to_date,
        case
            when final.is_complete or final.period_grain = 'custom' then final.period_end
            else {{ add_days(as_of_date(), 1) }}
        end as to_date_end,
        case
            when final.period_grain = 'custom' then {{ custom_base_end }}
            when final.is_complete then final.period_start
            else {{ to_date_end_shifted(as_of_date(), period_months_of('final.period_grain')) }}
        end as prev_to_date_end,
        case
            when final.period_grain = 'custom' then {{ custom_base_end }}
            when final.is_complete then {{ add_months('final.period_end', -12) }}
            else {{ to_date_end_shifted(as_of_date(), 12) }}
        end as sply_to_date_end,
        {# ABC/XYZ classes of an unfinished period are as of as_of_date: the 12 months ending with
            as_of_date's month, not with the period's future end #}
        case
            when final.is_complete or final.period_grain = 'custom' then final.period_end
            else {{ add_months(period_start_of('month', as_of_date()), 1) }}
        end as class_window_end,
        final.period_label || case
            when final.is_complete or final.period_grain = 'custom' then ''
            else {{ to_date_suffix_ru('final.period_grain', as_of_date()) }}
        end as period_label_ru
    from final

)

select * from to_date
