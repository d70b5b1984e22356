{#- Day-grain time spine for the semantic layer (MetricFlow), built on dim_calendar. -#}
with

dim_calendar as (

    select * from {{ ref('dim_calendar') }}

)

select calendar.date_day
from dim_calendar as calendar
