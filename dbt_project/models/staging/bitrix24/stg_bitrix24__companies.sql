{#- Companies, with region / channel / potential / size read where the company's mapping says
    (macros/mapping.sql): a UF field by code (list item ids turned into names) or a part of the
    requisite's address (crm.address.list, stg_bitrix24__addresses). -#}

-- read only when the mapping takes a concept from the address (declared for every mapping):
-- depends_on: {{ ref('stg_bitrix24__addresses') }}
-- depends_on: {{ ref('stg_bitrix24__requisites') }}

with

source as (

    select * from {{ source('bitrix24', 'bitrix24__companies') }}

),

renamed as (

    select
        -- ids
        source.source_key as company_id,
        {{ b_to_link(b_json_text('source.payload', 'ASSIGNED_BY_ID')) }} as assigned_user_id,

        -- strings
        {{ b_json_text('source.payload', 'TITLE') }} as company_title,
        {{ b_json_text('source.payload', 'COMPANY_TYPE') }} as company_type,
        lower({{ hc_b24_company_concept('source.payload', 'size') }}) as business_size,
        {{ b_json_text('source.payload', 'EMPLOYEES') }} as employees_code,
        {{ hc_b24_company_concept('source.payload', 'region') }} as region,
        {{ hc_b24_company_concept('source.payload', 'channel') }} as channel,

        -- numerics
        {{ b_to_numeric(hc_b24_company_concept('source.payload', 'potential')) }} as potential_rub,
        {{ b_to_numeric(b_json_text('source.payload', 'REVENUE')) }} as revenue_declared,

        -- booleans
        source._deleted_at is not null as is_deleted,

        -- dates
        {{ b_to_timestamptz(b_json_text('source.payload', 'DATE_CREATE')) }} as created_at,
        {{ b_to_timestamptz(b_json_text('source.payload', 'DATE_MODIFY')) }} as modified_at,
        source._loaded_at as loaded_at,
        source._deleted_at as deleted_at

    from {{ hc_b24_company_address_joins('source') }}

)

select * from renamed
