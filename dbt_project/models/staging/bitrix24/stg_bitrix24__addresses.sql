{#- Addresses (crm.address.list), one row per owner and address type: of a requisite
    (ENTITY_TYPE_ID 8, today's portals) or of a company itself (ENTITY_TYPE_ID 4, older portals);
    a company's region can come from here (the mapping's {address: PROVINCE}, see
    stg_bitrix24__companies). Contacts' and leads' addresses are left out. -#}
with

source as (

    select * from {{ source('bitrix24', 'bitrix24__addresses') }}

),

renamed as (

    select
        -- ids
        source_key as address_id,
        case
            when {{ json_text('payload', 'ENTITY_TYPE_ID') }} = '8' then {{ json_text('payload', 'ENTITY_ID') }}
        end as requisite_id,
        case
            when {{ json_text('payload', 'ENTITY_TYPE_ID') }} = '4' then {{ json_text('payload', 'ENTITY_ID') }}
        end as company_id,
        {{ json_text('payload', 'TYPE_ID') }} as type_id,

        -- strings
        {{ json_text('payload', 'ADDRESS_1') }} as address_1,
        {{ json_text('payload', 'ADDRESS_2') }} as address_2,
        {{ json_text('payload', 'CITY') }} as city,
        {{ json_text('payload', 'POSTAL_CODE') }} as postal_code,
        {{ json_text('payload', 'REGION') }} as region,
        {{ json_text('payload', 'PROVINCE') }} as province,
        {{ json_text('payload', 'COUNTRY') }} as country,
        {{ json_text('payload', 'COUNTRY_CODE') }} as country_code,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        _loaded_at as loaded_at,
        _modified_at as source_modified_at,
        _deleted_at as deleted_at

    from source
    where {{ json_text('payload', 'ENTITY_TYPE_ID') }} in ('4', '8')

)

select * from renamed
