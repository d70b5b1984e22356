with

source as (

    select * from {{ source('bitrix24', 'bitrix24__deal_product_rows') }}

),

renamed as (

    select
        -- ids
        source_key as product_row_id,
        {{ to_link(json_text('payload', 'OWNER_ID')) }} as deal_id,
        {{ to_link(json_text('payload', 'PRODUCT_ID')) }} as product_id,

        -- strings
        {{ json_text('payload', 'PRODUCT_NAME') }} as product_name,

        -- numerics
        {{ to_numeric(json_text('payload', 'PRICE')) }} as price,
        {{ to_numeric(json_text('payload', 'QUANTITY')) }} as quantity,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at

    from source

)

select * from renamed
