with

source as (

    select * from {{ source('bitrix24', 'bitrix24__products') }}

),

renamed as (

    select
        -- ids
        source_key as product_id,
        {{ b_to_link(b_json_text('payload', 'SECTION_ID')) }} as section_id,
        {{ b_json_text('payload', 'XML_ID') }} as xml_id,

        -- strings
        {{ b_json_text('payload', 'NAME') }} as product_name,

        -- numerics
        {{ b_to_numeric(b_json_text('payload', 'PRICE')) }} as price,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at

    from source

)

select * from renamed
