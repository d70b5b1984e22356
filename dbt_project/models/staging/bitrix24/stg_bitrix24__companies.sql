{#- Companies, with region / channel / potential / size read from the UF fields the company's
    mapping names (macros/mapping.sql; list item ids turned into names). A concept the mapping
    takes from the requisite's address is null here: int_bitrix24_companies_mapped fills it. -#}

with

source as (

    select * from {{ source('bitrix24', 'bitrix24__companies') }}

),

renamed as (

    select
        -- ids
        source.source_key as company_id,
        {{ to_link(json_text('source.payload', 'ASSIGNED_BY_ID')) }} as assigned_user_id,

        -- strings
        {{ json_text('source.payload', 'TITLE') }} as company_title,
        {{ json_text('source.payload', 'COMPANY_TYPE') }} as company_type,
        {{ lower_text(hc_b24_company_concept('source.payload', 'size')) }} as business_size,
        {{ json_text('source.payload', 'EMPLOYEES') }} as employees_code,
        {{ hc_b24_company_concept('source.payload', 'region') }} as region,
        {{ hc_b24_company_concept('source.payload', 'channel') }} as channel,

        -- numerics
        {{ to_numeric(hc_b24_company_concept('source.payload', 'potential')) }} as potential_rub,
        {{ to_numeric(json_text('source.payload', 'REVENUE')) }} as revenue_declared,

        -- booleans
        source._deleted_at is not null as is_deleted,

        -- dates
        {{ to_timestamptz(json_text('source.payload', 'DATE_CREATE')) }} as created_at,
        {{ to_timestamptz(json_text('source.payload', 'DATE_MODIFY')) }} as modified_at,
        source._loaded_at as loaded_at,
        source._modified_at as source_modified_at,
        source._deleted_at as deleted_at

    from source

)

select * from renamed
