with

source as (

    select * from {{ source('bitrix24', 'bitrix24__requisites') }}

),

renamed as (

    select
        -- ids
        source_key as requisite_id,
        case
            when {{ json_text('payload', 'ENTITY_TYPE_ID') }} = '4'
                then {{ to_link(json_text('payload', 'ENTITY_ID')) }}
        end as company_id,
        {{ json_text('payload', 'ENTITY_TYPE_ID') }} as entity_type_id,
        {{ to_link(json_text('payload', 'ENTITY_ID')) }} as entity_id,

        -- strings
        {{ json_text('payload', hc_escaped(var('hc_b24_inn_field'))) }} as inn,
        {{ json_text('payload', 'RQ_KPP') }} as kpp,
        {{ json_text('payload', 'RQ_COMPANY_NAME') }} as requisite_name,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
