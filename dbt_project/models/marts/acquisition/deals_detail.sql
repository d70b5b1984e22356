{#- Drill-down (расшифровка) for deal KPIs: one row per deal with its link, stage, amount and dates. -#}
select
    -- ids
    deals.deal_id,
    deals.pipeline_id,
    deals.client_id,
    deals.manager_id,
    deals.department_id,

    -- strings
    deals.deal_title,
    deals.deal_url,
    deals.pipeline_name,
    deals.stage_name,
    deals.stage_semantic,
    deals.source_name,
    clients.client_name,
    managers.manager_name,
    departments.department_name,

    -- numerics
    deals.amount,

    -- booleans
    deals.is_won,

    -- dates
    deals.created_date,
    deals.closed_date

from {{ ref('fct_deals') }} as deals
left join {{ ref('dim_managers') }} as managers
    on deals.manager_id = managers.manager_id
left join {{ ref('dim_clients') }} as clients
    on deals.client_id = clients.client_id
left join {{ ref('dim_departments') }} as departments
    on deals.department_id = departments.department_id
