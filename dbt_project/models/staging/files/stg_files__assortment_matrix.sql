with

source as (

    select * from {{ source('files', 'files__assortment_matrix') }}

),

renamed as (

    select
        -- ids
        source_key as assortment_item_id,
        {{ json_text('payload', 'sku') }} as sku,

        -- strings
        {{ json_text('payload', 'channel') }} as channel,
        {{ json_text('payload', 'category') }} as category,

        -- booleans
        {{ json_text('payload', 'sku') }} is null as is_whole_category,
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at

    from source

)

select * from renamed
