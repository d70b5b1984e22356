with

source as (

    select * from {{ source('bitrix24', 'bitrix24__companies') }}

),

renamed as (

    select
        -- ids
        source_key as company_id,
        {{ to_link(json_text('payload', 'ASSIGNED_BY_ID')) }} as assigned_user_id,

        -- strings
        {{ json_text('payload', 'TITLE') }} as company_title,
        {{ json_text('payload', 'COMPANY_TYPE') }} as company_type,
        lower({{ json_text('payload', 'UF_CRM_HC_SIZE') }}) as business_size,
        {{ json_text('payload', 'EMPLOYEES') }} as employees_code,
        {{ json_text('payload', 'UF_CRM_HC_REGION') }} as region,
        {{ json_text('payload', 'UF_CRM_HC_CHANNEL') }} as channel,

        -- numerics
        {{ to_numeric(json_text('payload', 'UF_CRM_HC_POTENTIAL')) }} as potential_rub,
        {{ to_numeric(json_text('payload', 'REVENUE')) }} as revenue_declared,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        {{ to_timestamptz(json_text('payload', 'DATE_CREATE')) }} as created_at,
        {{ to_timestamptz(json_text('payload', 'DATE_MODIFY')) }} as modified_at,
        _loaded_at as loaded_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
