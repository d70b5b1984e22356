with

source as (

    select * from {{ source('bitrix24', 'bitrix24__companies') }}

),

renamed as (

    select
        -- ids
        source_key as company_id,
        {{ b_to_link(b_json_text('payload', 'ASSIGNED_BY_ID')) }} as assigned_user_id,

        -- strings
        {{ b_json_text('payload', 'TITLE') }} as company_title,
        {{ b_json_text('payload', 'COMPANY_TYPE') }} as company_type,
        lower({{ b_json_text('payload', 'UF_CRM_HC_SIZE') }}) as business_size,
        {{ b_json_text('payload', 'EMPLOYEES') }} as employees_code,
        {{ b_json_text('payload', 'UF_CRM_HC_REGION') }} as region,
        {{ b_json_text('payload', 'UF_CRM_HC_CHANNEL') }} as channel,

        -- numerics
        {{ b_to_numeric(b_json_text('payload', 'UF_CRM_HC_POTENTIAL')) }} as potential_rub,
        {{ b_to_numeric(b_json_text('payload', 'REVENUE')) }} as revenue_declared,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        {{ b_to_timestamptz(b_json_text('payload', 'DATE_CREATE')) }} as created_at,
        {{ b_to_timestamptz(b_json_text('payload', 'DATE_MODIFY')) }} as modified_at,
        _loaded_at as loaded_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
