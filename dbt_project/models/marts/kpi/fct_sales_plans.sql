{#- Plans and norms per manager and month (user file), the targets of the KPI panel. -#}
with

dim_managers as (

    select * from {{ ref('dim_managers') }}

),

plans as (

    select * from {{ ref('stg_files__sales_plans') }}
    where not is_deleted

),

final as (

    select
        -- ids
        plans.sales_plan_id as sales_plan_id,
        plans.manager_id as manager_id,
        managers.department_id as department_id,

        -- strings
        coalesce(managers.manager_name, plans.manager_name) as manager_name,

        -- numerics
        coalesce(plans.revenue_plan_rub, 0) as revenue_plan_rub,
        coalesce(plans.new_clients_plan, 0) as new_clients_plan,
        coalesce(plans.stable_growth_plan, 0) as stable_growth_plan,
        plans.aov_growth_plan_pct as aov_growth_plan_pct,
        coalesce(plans.conversion_target_pct, {{ var('funnel_conversion_target_pct') }}) as conversion_target_pct,
        coalesce(plans.calls_norm, 0) as calls_norm,
        coalesce(plans.meetings_norm, 0) as meetings_norm,
        coalesce(plans.tasks_norm, 0) as tasks_norm,

        -- dates
        plans.plan_month as plan_month

    from plans
    left join dim_managers as managers
        on plans.manager_id = managers.manager_id

)

select * from final
