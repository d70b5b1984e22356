with

source as (

    select * from {{ source('bitrix24', 'bitrix24__users') }}

),

renamed as (

    select
        -- ids
        source_key as user_id,
        {{ b_json_array_item_text('payload', 'UF_DEPARTMENT', 0) }} as department_id,
        {{ b_json_array_joined_text('payload', 'UF_DEPARTMENT') }} as department_ids,

        -- strings
        {{ b_json_text('payload', 'LAST_NAME') }} as last_name,
        {{ b_json_text('payload', 'NAME') }} as first_name,
        nullif(trim({{ dbt.concat([
            "coalesce(" ~ b_json_text('payload', 'LAST_NAME') ~ ", '')",
            "' '",
            "coalesce(" ~ b_json_text('payload', 'NAME') ~ ", '')",
        ]) }}), '') as full_name,
        {{ b_json_text('payload', 'EMAIL') }} as email,
        {{ b_json_text('payload', 'WORK_POSITION') }} as work_position,

        -- booleans
        coalesce({{ b_to_bool(b_json_text('payload', 'ACTIVE')) }}, true) as is_active,
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
