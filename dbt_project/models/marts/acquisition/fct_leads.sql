{#- One row per Bitrix24 lead with its source name (crm.status.list SOURCE) and outcome. -#}
with

leads as (

    select * from {{ ref('stg_bitrix24__leads') }}
    where not is_deleted

),

sources as (

    select
        status_id as source_id,
        min(status_name) as source_name
    from {{ ref('stg_bitrix24__statuses') }}
    where entity_id = 'SOURCE' and not is_deleted
    group by status_id

),

companies_identity as (

    select
        record_id as company_id,
        client_id
    from {{ ref('int_client_identity') }}
    where source_system = 'bitrix24'

),

final as (

    select
        -- ids
        leads.lead_id,
        leads.company_id,
        companies_identity.client_id,
        leads.assigned_user_id as manager_id,
        managers.department_id,
        coalesce(leads.source_id, 'OTHER') as source_id,

        -- strings
        leads.lead_title,
        coalesce(sources.source_name, leads.source_id, 'Не указан') as source_name,
        leads.status_id,
        case leads.status_semantic_id
            when 'S' then 'converted'
            when 'F' then 'junk'
            else 'in_progress'
        end as lead_outcome,
        {{ b_portal_link('lead', 'leads.lead_id') }} as lead_url,

        -- booleans
        leads.is_converted,

        -- dates
        leads.created_at,
        {{ b_portal_date('leads.created_at') }} as created_date

    from leads
    left join sources
        on leads.source_id = sources.source_id
    left join companies_identity
        on leads.company_id = companies_identity.company_id
    left join {{ ref('dim_managers') }} as managers
        on leads.assigned_user_id = managers.manager_id

)

select * from final
