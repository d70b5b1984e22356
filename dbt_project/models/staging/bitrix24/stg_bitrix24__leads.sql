with

source as (

    select * from {{ source('bitrix24', 'bitrix24__leads') }}

),

renamed as (

    select
        -- ids
        source_key as lead_id,
        {{ to_link(json_text('payload', 'COMPANY_ID')) }} as company_id,
        {{ to_link(json_text('payload', 'ASSIGNED_BY_ID')) }} as assigned_user_id,
        {{ json_text('payload', 'SOURCE_ID') }} as source_id,
        {{ json_text('payload', 'STATUS_ID') }} as status_id,

        -- strings
        {{ json_text('payload', 'TITLE') }} as lead_title,
        {{ json_text('payload', 'STATUS_SEMANTIC_ID') }} as status_semantic_id,

        -- booleans
        coalesce({{ json_text('payload', 'STATUS_SEMANTIC_ID') }} = 'S', false) as is_converted,
        _deleted_at is not null as is_deleted,

        -- dates
        {{ to_timestamptz(json_text('payload', 'DATE_CREATE')) }} as created_at,
        {{ to_timestamptz(json_text('payload', 'DATE_MODIFY')) }} as modified_at,
        {{ to_timestamptz(json_text('payload', 'DATE_CLOSED')) }} as closed_at,
        _loaded_at as loaded_at,
        _modified_at as source_modified_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
