with

source as (

    select * from {{ source('files', 'files__potential_clients') }}

),

renamed as (

    select
        -- ids
        source_key as potential_client_id,
        {{ json_text('payload', 'inn') }} as inn,
        {{ to_link(json_text('payload', 'manager')) }} as manager_id,

        -- strings
        {{ json_text('payload', 'region') }} as region,
        {{ json_text('payload', 'name') }} as client_name,

        -- numerics
        {{ file_int('year') }} as year,  -- noqa: RF04
        {{ file_number('potential_rub') }} as potential_rub,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at

    from source

)

select * from renamed
