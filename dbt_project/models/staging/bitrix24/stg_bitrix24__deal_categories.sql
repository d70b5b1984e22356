with

source as (

    select * from {{ source('bitrix24', 'bitrix24__deal_categories') }}

),

renamed as (

    select
        -- ids
        source_key as category_id,

        -- strings
        {{ json_text('payload', 'name') }} as category_name,

        -- numerics
        {{ to_int(json_text('payload', 'sort')) }} as sort_order,

        -- booleans
        coalesce({{ to_bool(json_text('payload', 'isDefault')) }}, false) as is_default,
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
