with

source as (

    select * from {{ source('files', 'files__rosstat_outlets') }}

),

renamed as (

    select
        -- ids
        source_key as rosstat_outlets_id,

        -- strings
        {{ json_text('payload', 'region') }} as region,

        -- numerics
        {{ file_int('year') }} as year,  -- noqa: RF04
        {{ file_int('outlets') }} as outlets,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at

    from source

)

select * from renamed
