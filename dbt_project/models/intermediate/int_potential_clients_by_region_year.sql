{#- Number of distinct potential clients (ИНН, else name) per region and year, from the
    uploaded potential-clients list. -#}
with

stg_files__potential_clients as (

    select * from {{ ref('stg_files__potential_clients') }}

)

select
    potential.region,
    potential.year,
    count(distinct coalesce(potential.inn, potential.client_name)) as potential_clients
from stg_files__potential_clients as potential
where not potential.is_deleted
group by potential.region, potential.year
