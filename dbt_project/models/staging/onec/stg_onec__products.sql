with

source as (

    select * from {{ source('onec', 'onec__products') }}

),

renamed as (

    select
        -- ids
        source.source_key as product_id,
        {{ onec_ref(json_text('source.payload', 'Parent_Key')) }} as parent_product_id,

        -- strings
        {{ onec_string(json_text('source.payload', 'Code')) }} as product_code,
        {{ onec_string(json_text('source.payload', 'Description')) }} as product_name,
        {{ onec_string(hc_onec_text('source.payload', 'products', 'sku', 'Артикул')) }} as sku,

        -- booleans
        {{ onec_bool(json_text('source.payload', 'IsFolder')) }} as is_folder,
        {{ onec_bool(json_text('source.payload', 'DeletionMark')) }} as is_deletion_marked,
        source._deleted_at is not null as is_deleted,

        -- dates
        source._loaded_at as loaded_at,
        source._modified_at as source_modified_at

    from source

)

select * from renamed
