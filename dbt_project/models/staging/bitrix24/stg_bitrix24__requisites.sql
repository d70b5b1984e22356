with

source as (

    select * from {{ source('bitrix24', 'bitrix24__requisites') }}

),

renamed as (

    select
        -- ids
        source_key as requisite_id,
        case
            when {{ b_json_text('payload', 'ENTITY_TYPE_ID') }} = '4'
                then {{ b_to_link(b_json_text('payload', 'ENTITY_ID')) }}
        end as company_id,
        {{ b_json_text('payload', 'ENTITY_TYPE_ID') }} as entity_type_id,
        {{ b_to_link(b_json_text('payload', 'ENTITY_ID')) }} as entity_id,

        -- strings
        {{ b_json_text('payload', hc_escaped(var('hc_b24_inn_field'))) }} as inn,
        {{ b_json_text('payload', 'RQ_KPP') }} as kpp,
        {{ b_json_text('payload', 'RQ_COMPANY_NAME') }} as requisite_name,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
