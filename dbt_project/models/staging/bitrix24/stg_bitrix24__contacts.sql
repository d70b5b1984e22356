with

source as (

    select * from {{ source('bitrix24', 'bitrix24__contacts') }}

),

renamed as (

    select
        -- ids
        source_key as contact_id,
        {{ to_link(json_text('payload', 'COMPANY_ID')) }} as company_id,
        {{ to_link(json_text('payload', 'ASSIGNED_BY_ID')) }} as assigned_user_id,

        -- strings
        {{ json_text('payload', 'LAST_NAME') }} as last_name,
        {{ json_text('payload', 'NAME') }} as first_name,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        {{ to_timestamptz(json_text('payload', 'DATE_CREATE')) }} as created_at,
        {{ to_timestamptz(json_text('payload', 'DATE_MODIFY')) }} as modified_at,
        _loaded_at as loaded_at,
        _modified_at as source_modified_at

    from source

)

select * from renamed
