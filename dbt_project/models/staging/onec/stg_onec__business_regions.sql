with

source as (

    select * from {{ source('onec', 'onec__business_regions') }}

),

renamed as (

    select
        -- ids
        source.source_key as business_region_id,

        -- strings
        {{ onec_string(json_text('source.payload', 'Description')) }} as region_name,

        -- booleans
        source._deleted_at is not null as is_deleted,

        -- dates
        source._loaded_at as loaded_at,
        source._modified_at as source_modified_at

    from source

)

select * from renamed
