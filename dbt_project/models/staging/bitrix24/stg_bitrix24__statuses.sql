with

source as (

    select * from {{ source('bitrix24', 'bitrix24__statuses') }}

),

renamed as (

    select
        -- ids
        source_key as status_record_id,
        {{ json_text('payload', 'ENTITY_ID') }} as entity_id,
        {{ json_text('payload', 'STATUS_ID') }} as status_id,
        {{ json_text('payload', 'CATEGORY_ID') }} as category_id,

        -- strings
        {{ hc_b24_source_channel(
            "case when " ~ json_text('payload', 'ENTITY_ID') ~ " = 'SOURCE' then " ~ json_text('payload', 'STATUS_ID') ~ " end",
            json_text('payload', 'NAME')
        ) }} as status_name,
        lower({{ json_path_text('payload', ['EXTRA', 'SEMANTICS']) }}) as semantics,

        -- numerics
        {{ to_int(json_text('payload', 'SORT')) }} as sort_order,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
