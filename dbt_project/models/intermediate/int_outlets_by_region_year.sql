{#- Rosstat outlets per region and year (the latest load wins when a region-year repeats). -#}
with

stg_files__rosstat_outlets as (

    select * from {{ ref('stg_files__rosstat_outlets') }}

)

select
    outlets.region,
    outlets.year,
    max(outlets.outlets) as total_outlets
from stg_files__rosstat_outlets as outlets
where not outlets.is_deleted
group by outlets.region, outlets.year
