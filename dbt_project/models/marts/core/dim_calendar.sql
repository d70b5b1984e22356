{#- One row per day from the first sale's year start to as_of_date. -#}
with

int_periods as (

    select * from {{ ref('int_periods') }}

),

bounds as (

    select
        min(period.period_start) as first_day,
        {{ as_of_date() }} as last_day
    from int_periods as period

),

days as (

    {{ date_series('(select bounds.first_day from bounds)', '(select bounds.last_day from bounds)') }}

)

select
    days.date_day,
    {{ period_start_of('month', 'days.date_day') }} as month_start,
    {{ period_start_of('quarter', 'days.date_day') }} as quarter_start,
    {{ period_start_of('year', 'days.date_day') }} as year_start,
    {{ period_label("'month'", period_start_of('month', 'days.date_day')) }} as month_label,
    {{ period_label("'quarter'", period_start_of('quarter', 'days.date_day')) }} as quarter_label,
    {{ period_label("'year'", period_start_of('year', 'days.date_day')) }} as year_label,
    {{ date_part_macro('isodow', 'days.date_day') }} as iso_day_of_week
from days
