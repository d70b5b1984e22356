with

source as (

    select * from {{ source('onec', 'onec__departments') }}

),

renamed as (

    select
        -- ids
        source.source_key as department_id,
        {{ onec_ref(json_text('source.payload', 'Parent_Key')) }} as parent_department_id,

        -- strings
        {{ onec_string(json_text('source.payload', 'Description')) }} as department_name,

        -- booleans
        source._deleted_at is not null as is_deleted,

        -- dates
        source._loaded_at as loaded_at,
        source._modified_at as source_modified_at

    from source

)

select * from renamed
