with

source as (

    select * from {{ source('bitrix24', 'bitrix24__departments') }}

),

renamed as (

    select
        -- ids
        source_key as department_id,
        {{ to_link(json_text('payload', 'PARENT')) }} as parent_department_id,
        {{ to_link(json_text('payload', 'UF_HEAD')) }} as head_user_id,

        -- strings
        {{ json_text('payload', 'NAME') }} as department_name,

        -- numerics
        {{ to_int(json_text('payload', 'SORT')) }} as sort_order,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at

    from source

)

select * from renamed
