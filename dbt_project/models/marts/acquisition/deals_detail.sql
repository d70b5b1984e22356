{#- Drill-down (расшифровка) for deal KPIs: one row per deal with its link, stage, amount and dates. -#}
with

dim_departments as (

    select * from {{ ref('dim_departments') }}

),

fct_deals as (

    select * from {{ ref('fct_deals') }}

),

dim_managers as (

    select * from {{ ref('dim_managers') }}

),

dim_clients as (

    select * from {{ ref('dim_clients') }}

)

select
    -- ids
    deals.deal_id as deal_id,
    deals.pipeline_id as pipeline_id,
    deals.client_id as client_id,
    deals.manager_id as manager_id,
    deals.department_id as department_id,

    -- strings
    deals.deal_title as deal_title,
    deals.deal_url as deal_url,
    deals.pipeline_name as pipeline_name,
    deals.stage_name as stage_name,
    deals.stage_semantic as stage_semantic,
    deals.source_name as source_name,
    clients.client_name as client_name,
    managers.manager_name as manager_name,
    departments.department_name as department_name,

    -- numerics
    deals.amount as amount,

    -- booleans
    deals.is_won as is_won,

    -- dates
    deals.created_date as created_date,
    deals.closed_date as closed_date

from fct_deals as deals
left join dim_managers as managers
    on deals.manager_id = managers.manager_id
left join dim_clients as clients
    on deals.client_id = clients.client_id
left join dim_departments as departments
    on deals.department_id = departments.department_id
