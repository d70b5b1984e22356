with

source as (

    select * from {{ source('bitrix24', 'bitrix24__deal_stage_history') }}

),

renamed as (

    select
        -- ids
        source_key as stage_history_id,
        {{ to_link(json_text('payload', 'OWNER_ID')) }} as deal_id,
        coalesce({{ json_text('payload', 'CATEGORY_ID') }}, '0') as category_id,
        {{ json_text('payload', 'STAGE_ID') }} as stage_id,

        -- strings
        {{ json_text('payload', 'STAGE_SEMANTIC_ID') }} as stage_semantic_id,

        -- numerics
        {{ to_int(json_text('payload', 'TYPE_ID')) }} as history_type_id,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        {{ to_timestamptz(json_text('payload', 'CREATED_TIME')) }} as entered_at,
        _loaded_at as loaded_at,
        _modified_at as source_modified_at,
        _deleted_at as deleted_at

    from source
    -- the stage history of the pipelines the mapping names (as stg_bitrix24__deals)
    where {{ hc_b24_mapped_pipeline("coalesce(" ~ json_text('payload', 'CATEGORY_ID') ~ ", '0')") }}

)

select * from renamed
