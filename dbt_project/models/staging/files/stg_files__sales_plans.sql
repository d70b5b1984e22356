with

source as (

    select * from {{ source('files', 'files__sales_plans') }}

),

renamed as (

    select
        -- ids
        source_key as sales_plan_id,
        {{ to_link(json_text('payload', 'manager_id')) }} as manager_id,

        -- strings
        {{ json_text('payload', 'manager_name') }} as manager_name,

        -- numerics
        {{ file_number('revenue_plan') }} as revenue_plan_rub,
        {{ file_number('new_clients_plan') }} as new_clients_plan,
        {{ file_number('stable_growth_plan') }} as stable_growth_plan,
        {{ file_number('aov_growth_plan_pct') }} as aov_growth_plan_pct,
        {{ file_number('conversion_target_pct') }} as conversion_target_pct,
        {{ file_number('calls_norm') }} as calls_norm,
        {{ file_number('meetings_norm') }} as meetings_norm,
        {{ file_number('tasks_norm') }} as tasks_norm,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        cast({{ dbt.date_trunc('month', to_date(json_text('payload', 'month'))) }} as date) as plan_month,
        _loaded_at as loaded_at,
        _modified_at as source_modified_at

    from source

)

select * from renamed
