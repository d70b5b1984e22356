{#- One row per Bitrix24 lead with its source name (crm.status.list SOURCE) and outcome.
    Incremental delete+insert (macros/incremental_facts.sql): a run rebuilds the leads whose raw
    row, company, company requisites or responsible user was landed or marked deleted after the
    newest source_loaded_at in the table (minus var incremental_lookback_minutes), and every lead
    when a status changed. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='lead_id',
    on_schema_change='fail',
    pre_hook=["{{ delete_changed_fact_rows('fct_leads') }}"],
    post_hook=["{{ analyze_if_never_analyzed() }}"],
    indexes=postgres_indexes([{'columns': ['lead_id']}, {'columns': ['source_loaded_at']}]),
) }}

-- the incremental filter (macro fact_keys_to_rebuild) also reads these models:
-- depends_on: {{ ref('stg_bitrix24__companies') }}
-- depends_on: {{ ref('stg_bitrix24__requisites') }}
-- depends_on: {{ ref('stg_bitrix24__users') }}

with

dim_managers as (

    select * from {{ ref('dim_managers') }}

),

leads as (

    select * from {{ ref('stg_bitrix24__leads') }}
    where not is_deleted and {{ fact_rows_filter('fct_leads') }}

),

statuses as (

    select * from {{ ref('stg_bitrix24__statuses') }}
    where entity_id = 'SOURCE' and not is_deleted

),

int_client_identity as (

    select * from {{ ref('int_client_identity') }}
    where source_system = 'bitrix24'

),

sources as (

    select
        statuses.status_id as source_id,
        min(statuses.status_name) as source_name
    from statuses
    group by statuses.status_id

),

companies_identity as (

    select
        client_identity.record_id as company_id,
        client_identity.client_id
    from int_client_identity as client_identity

),

final as (

    select
        -- ids
        leads.lead_id as lead_id,
        leads.company_id as company_id,
        companies_identity.client_id as client_id,
        leads.assigned_user_id as manager_id,
        managers.department_id as department_id,
        coalesce(leads.source_id, 'OTHER') as source_id,

        -- strings
        leads.lead_title as lead_title,
        coalesce(sources.source_name, leads.source_id, 'Не указан') as source_name,
        leads.status_id as status_id,
        case leads.status_semantic_id
            when 'S' then 'converted'
            when 'F' then 'junk'
            else 'in_progress'
        end as lead_outcome,
        {{ portal_link('lead', 'leads.lead_id') }} as lead_url,

        -- booleans
        leads.is_converted as is_converted,

        -- dates
        leads.created_at as created_at,
        {{ portal_date('leads.created_at') }} as created_date,
        leads.loaded_at as source_loaded_at

    from leads
    left join sources
        on leads.source_id = sources.source_id
    left join companies_identity
        on leads.company_id = companies_identity.company_id
    left join dim_managers as managers
        on leads.assigned_user_id = managers.manager_id

)

select * from final
