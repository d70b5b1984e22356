with

source as (

    select * from {{ source('bitrix24', 'bitrix24__activities') }}

),

renamed as (

    select
        -- ids
        source_key as activity_id,
        {{ json_text('payload', 'OWNER_TYPE_ID') }} as owner_type_id,
        {{ to_link(json_text('payload', 'OWNER_ID')) }} as owner_id,
        {{ to_link(json_text('payload', 'RESPONSIBLE_ID')) }} as responsible_user_id,
        {{ json_text('payload', 'PROVIDER_ID') }} as provider_id,

        -- strings
        case {{ json_text('payload', 'TYPE_ID') }}
            when '1' then 'meeting'
            when '2' then 'call'
            when '3' then 'task'
            when '4' then 'email'
            else 'other'
        end as activity_type,
        case {{ json_text('payload', 'DIRECTION') }}
            when '1' then 'incoming'
            when '2' then 'outgoing'
        end as direction,
        {{ json_text('payload', 'SUBJECT') }} as subject,

        -- numerics
        {{ to_int(json_text('payload', 'TYPE_ID')) }} as activity_type_id,

        -- booleans
        coalesce({{ to_bool(json_text('payload', 'COMPLETED')) }}, false) as is_completed,
        _deleted_at is not null as is_deleted,

        -- dates
        {{ to_timestamptz(json_text('payload', 'CREATED')) }} as created_at,
        {{ to_timestamptz(json_text('payload', 'LAST_UPDATED')) }} as modified_at,
        {{ to_timestamptz(json_text('payload', 'START_TIME')) }} as start_at,
        {{ to_timestamptz(json_text('payload', 'END_TIME')) }} as end_at,
        {{ to_timestamptz(json_text('payload', 'DEADLINE')) }} as deadline_at,
        _loaded_at as loaded_at,
        _modified_at as source_modified_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
