with

source as (

    select * from {{ source('bitrix24', 'bitrix24__contacts') }}

),

renamed as (

    select
        -- ids
        source_key as contact_id,
        {{ b_to_link(b_json_text('payload', 'COMPANY_ID')) }} as company_id,
        {{ b_to_link(b_json_text('payload', 'ASSIGNED_BY_ID')) }} as assigned_user_id,

        -- strings
        {{ b_json_text('payload', 'LAST_NAME') }} as last_name,
        {{ b_json_text('payload', 'NAME') }} as first_name,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        {{ b_to_timestamptz(b_json_text('payload', 'DATE_CREATE')) }} as created_at,
        {{ b_to_timestamptz(b_json_text('payload', 'DATE_MODIFY')) }} as modified_at,
        _loaded_at as loaded_at

    from source

)

select * from renamed
