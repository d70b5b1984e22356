with

source as (

    select * from {{ source('bitrix24', 'bitrix24__departments') }}

),

renamed as (

    select
        -- ids
        source_key as department_id,
        {{ b_to_link(b_json_text('payload', 'PARENT')) }} as parent_department_id,
        {{ b_to_link(b_json_text('payload', 'UF_HEAD')) }} as head_user_id,

        -- strings
        {{ b_json_text('payload', 'NAME') }} as department_name,

        -- numerics
        {{ b_to_int(b_json_text('payload', 'SORT')) }} as sort_order,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at

    from source

)

select * from renamed
