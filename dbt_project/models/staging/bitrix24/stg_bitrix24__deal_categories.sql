with

source as (

    select * from {{ source('bitrix24', 'bitrix24__deal_categories') }}

),

renamed as (

    select
        -- ids
        source_key as category_id,

        -- strings
        {{ b_json_text('payload', 'name') }} as category_name,

        -- numerics
        {{ b_to_int(b_json_text('payload', 'sort')) }} as sort_order,

        -- booleans
        coalesce({{ b_to_bool(b_json_text('payload', 'isDefault')) }}, false) as is_default,
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
