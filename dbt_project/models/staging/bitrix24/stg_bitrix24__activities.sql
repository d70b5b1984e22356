with

source as (

    select * from {{ source('bitrix24', 'bitrix24__activities') }}

),

renamed as (

    select
        -- ids
        source_key as activity_id,
        {{ b_json_text('payload', 'OWNER_TYPE_ID') }} as owner_type_id,
        {{ b_to_link(b_json_text('payload', 'OWNER_ID')) }} as owner_id,
        {{ b_to_link(b_json_text('payload', 'RESPONSIBLE_ID')) }} as responsible_user_id,
        {{ b_json_text('payload', 'PROVIDER_ID') }} as provider_id,

        -- strings
        case {{ b_json_text('payload', 'TYPE_ID') }}
            when '1' then 'meeting'
            when '2' then 'call'
            when '3' then 'task'
            when '4' then 'email'
            else 'other'
        end as activity_type,
        case {{ b_json_text('payload', 'DIRECTION') }}
            when '1' then 'incoming'
            when '2' then 'outgoing'
        end as direction,
        {{ b_json_text('payload', 'SUBJECT') }} as subject,

        -- numerics
        {{ b_to_int(b_json_text('payload', 'TYPE_ID')) }} as activity_type_id,

        -- booleans
        coalesce({{ b_to_bool(b_json_text('payload', 'COMPLETED')) }}, false) as is_completed,
        _deleted_at is not null as is_deleted,

        -- dates
        {{ b_to_timestamptz(b_json_text('payload', 'CREATED')) }} as created_at,
        {{ b_to_timestamptz(b_json_text('payload', 'LAST_UPDATED')) }} as modified_at,
        {{ b_to_timestamptz(b_json_text('payload', 'START_TIME')) }} as start_at,
        {{ b_to_timestamptz(b_json_text('payload', 'END_TIME')) }} as end_at,
        {{ b_to_timestamptz(b_json_text('payload', 'DEADLINE')) }} as deadline_at,
        _loaded_at as loaded_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
