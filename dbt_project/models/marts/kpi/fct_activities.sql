{#- One row per Bitrix24 activity, dated in the portal's time zone; the activity norms KPI
    counts completed calls, meetings and tasks. Incremental delete+insert
    (macros/incremental_facts.sql): a run replaces the activities whose raw row or responsible
    user (department) was landed or marked deleted after the newest source_loaded_at in the
    table (minus var incremental_lookback_minutes). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='activity_id',
    on_schema_change='fail',
    pre_hook=["{{ delete_changed_fact_rows('fct_activities') }}"],
    post_hook=["{{ analyze_if_never_analyzed() }}"],
    indexes=postgres_indexes([{'columns': ['activity_id']}, {'columns': ['source_loaded_at']}]),
) }}

-- the incremental filter (macro fact_keys_to_rebuild) also reads this model:
-- depends_on: {{ ref('stg_bitrix24__users') }}

with

dim_managers as (

    select * from {{ ref('dim_managers') }}

),

activities as (

    select * from {{ ref('stg_bitrix24__activities') }}
    where not is_deleted and {{ fact_rows_filter('fct_activities') }}

),

final as (

    select
        -- ids
        activities.activity_id as activity_id,
        activities.responsible_user_id as manager_id,
        managers.department_id as department_id,
        activities.owner_type_id as owner_type_id,
        activities.owner_id as owner_id,

        -- strings
        activities.activity_type as activity_type,
        activities.direction as direction,
        activities.subject as subject,

        -- booleans
        activities.is_completed as is_completed,
        activities.is_completed
        and activities.activity_type in ('call', 'meeting', 'task') as is_counted_for_norms,

        -- dates
        {{ portal_date(
            'coalesce(activities.end_at, activities.start_at, activities.deadline_at, activities.created_at)'
        ) }} as activity_date,
        activities.loaded_at as source_loaded_at

    from activities
    left join dim_managers as managers
        on activities.responsible_user_id = managers.manager_id

)

select * from final
