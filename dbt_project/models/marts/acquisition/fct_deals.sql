{#- One row per Bitrix24 deal: pipeline, stage, outcome, amount, client (via the identity model),
    manager, source, dates in the portal's time zone and a link to the deal in the portal.
    Incremental delete+insert (macros/incremental_facts.sql): a run rebuilds the deals whose raw
    row, company, company requisites or responsible user was landed or marked deleted after the
    newest source_loaded_at in the table (minus var incremental_lookback_minutes), and every deal
    when a status or pipeline changed. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='deal_id',
    on_schema_change='fail',
    pre_hook=["{{ delete_changed_fact_rows('fct_deals') }}"],
    post_hook=["{{ analyze_if_never_analyzed() }}"],
    indexes=postgres_indexes([{'columns': ['deal_id']}, {'columns': ['source_loaded_at']}]),
) }}

-- the incremental filter (macro fact_keys_to_rebuild) also reads these models:
-- depends_on: {{ ref('stg_bitrix24__companies') }}
-- depends_on: {{ ref('stg_bitrix24__requisites') }}
-- depends_on: {{ ref('stg_bitrix24__users') }}

with

int_client_identity as (

    select * from {{ ref('int_client_identity') }}

),

stg_bitrix24__deal_categories as (

    select * from {{ ref('stg_bitrix24__deal_categories') }}

),

dim_managers as (

    select * from {{ ref('dim_managers') }}

),

deals as (

    select * from {{ ref('stg_bitrix24__deals') }}
    where not is_deleted and {{ fact_rows_filter('fct_deals') }}

),

statuses as (

    select * from {{ ref('stg_bitrix24__statuses') }}
    where not is_deleted

),

stages as (

    select
        statuses.status_id as stage_id,
        statuses.status_name as stage_name,
        statuses.sort_order as stage_sort,
        coalesce(statuses.category_id, '0') as category_id
    from statuses
    where statuses.entity_id = 'DEAL_STAGE' or statuses.entity_id like 'DEAL_STAGE\_%'

),

sources as (

    select
        statuses.status_id as source_id,
        min(statuses.status_name) as source_name
    from statuses
    where statuses.entity_id = 'SOURCE'
    group by statuses.status_id

),

companies_identity as (

    select
        client_identity.record_id as company_id,
        client_identity.client_id
    from int_client_identity as client_identity
    where client_identity.source_system = 'bitrix24'

),

final as (

    select
        -- ids
        deals.deal_id as deal_id,
        deals.category_id as pipeline_id,
        deals.stage_id as stage_id,
        deals.company_id as company_id,
        companies_identity.client_id as client_id,
        deals.assigned_user_id as manager_id,
        managers.department_id as department_id,
        deals.source_id as source_id,
        deals.lead_id as lead_id,

        -- strings
        deals.deal_title as deal_title,
        coalesce(pipelines.category_name, {{ dbt.concat(["'Воронка '", 'deals.category_id']) }}) as pipeline_name,
        coalesce(stages.stage_name, deals.stage_id) as stage_name,
        case deals.stage_semantic_id
            when 'S' then 'won'
            when 'F' then 'lost'
            else 'in_progress'
        end as stage_semantic,
        coalesce(sources.source_name, deals.source_id, 'Не указан') as source_name,
        deals.currency_id as currency_id,
        {{ portal_link('deal', 'deals.deal_id') }} as deal_url,

        -- numerics
        stages.stage_sort as stage_sort,
        coalesce(deals.amount, 0) as amount,

        -- booleans
        deals.is_won as is_won,
        deals.is_lost as is_lost,
        deals.is_closed or deals.is_won or deals.is_lost as is_closed,

        -- dates
        deals.created_at as created_at,
        deals.closed_at as closed_at,
        {{ portal_date('deals.created_at') }} as created_date,
        case
            when deals.is_won or deals.is_lost
                then {{ portal_date('coalesce(deals.closed_at, deals.modified_at)') }}
        end as closed_date,
        deals.loaded_at as source_loaded_at

    from deals
    left join stg_bitrix24__deal_categories as pipelines
        on deals.category_id = pipelines.category_id
    left join stages
        on
            deals.category_id = stages.category_id
            and deals.stage_id = stages.stage_id
    left join sources
        on deals.source_id = sources.source_id
    left join companies_identity
        on deals.company_id = companies_identity.company_id
    left join dim_managers as managers
        on deals.assigned_user_id = managers.manager_id

)

select * from final
