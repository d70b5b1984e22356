{#- Day-grain time spine for the semantic layer (MetricFlow), built on dim_calendar. -#}
select calendar.date_day
from {{ ref('dim_calendar') }} as calendar
