with

source as (

    select * from {{ source('onec', 'onec__users') }}

),

renamed as (

    select
        -- ids
        source.source_key as user_id,
        {{ onec_ref(hc_onec_text('source.payload', 'users', 'department', 'Подразделение_Key')) }} as department_id,

        -- strings
        {{ onec_string(json_text('source.payload', 'Description')) }} as full_name,
        {{ normalize_person_name(json_text('source.payload', 'Description')) }} as full_name_normalized,

        -- booleans
        source._deleted_at is not null as is_deleted,

        -- dates
        source._loaded_at as loaded_at,
        source._modified_at as source_modified_at

    from source

)

select * from renamed
