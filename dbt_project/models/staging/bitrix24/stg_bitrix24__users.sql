with

source as (

    select * from {{ source('bitrix24', 'bitrix24__users') }}

),

renamed as (

    select
        -- ids
        source_key as user_id,
        {{ json_array_item_text('payload', 'UF_DEPARTMENT', 0) }} as department_id,
        {{ json_array_joined_text('payload', 'UF_DEPARTMENT') }} as department_ids,

        -- strings
        {{ json_text('payload', 'LAST_NAME') }} as last_name,
        {{ json_text('payload', 'NAME') }} as first_name,
        nullif(trim({{ dbt.concat([
            "coalesce(" ~ json_text('payload', 'LAST_NAME') ~ ", '')",
            "' '",
            "coalesce(" ~ json_text('payload', 'NAME') ~ ", '')",
        ]) }}), '') as full_name,
        {{ json_text('payload', 'EMAIL') }} as email,
        {{ json_text('payload', 'WORK_POSITION') }} as work_position,

        -- booleans
        coalesce({{ to_bool(json_text('payload', 'ACTIVE')) }}, true) as is_active,
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
