with

source as (

    select * from {{ source('files', 'files__sales_plans') }}

),

renamed as (

    select
        -- ids
        source_key as sales_plan_id,
        {{ b_to_link(b_json_text('payload', 'manager_id')) }} as manager_id,

        -- strings
        {{ b_json_text('payload', 'manager_name') }} as manager_name,

        -- numerics
        {{ b_to_numeric(b_json_text('payload', 'revenue_plan')) }} as revenue_plan_rub,
        {{ b_to_numeric(b_json_text('payload', 'new_clients_plan')) }} as new_clients_plan,
        {{ b_to_numeric(b_json_text('payload', 'stable_growth_plan')) }} as stable_growth_plan,
        {{ b_to_numeric(b_json_text('payload', 'aov_growth_plan_pct')) }} as aov_growth_plan_pct,
        {{ b_to_numeric(b_json_text('payload', 'conversion_target_pct')) }} as conversion_target_pct,
        {{ b_to_numeric(b_json_text('payload', 'calls_norm')) }} as calls_norm,
        {{ b_to_numeric(b_json_text('payload', 'meetings_norm')) }} as meetings_norm,
        {{ b_to_numeric(b_json_text('payload', 'tasks_norm')) }} as tasks_norm,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        cast({{ dbt.date_trunc('month', b_to_date(b_json_text('payload', 'month'))) }} as date) as plan_month,
        _loaded_at as loaded_at

    from source

)

select * from renamed
