with

source as (

    select * from {{ source('bitrix24', 'bitrix24__products') }}

),

renamed as (

    select
        -- ids
        source_key as product_id,
        {{ to_link(json_text('payload', 'SECTION_ID')) }} as section_id,
        {{ json_text('payload', 'XML_ID') }} as xml_id,

        -- strings
        {{ json_text('payload', 'NAME') }} as product_name,

        -- numerics
        {{ to_numeric(json_text('payload', 'PRICE')) }} as price,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at

    from source

)

select * from renamed
