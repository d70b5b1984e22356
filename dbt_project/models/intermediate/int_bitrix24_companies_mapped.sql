{#- Bitrix24 companies with every concept where the company's mapping says: the staged UF
    fields, or a part of the requisite's address (crm.address.list via stg_bitrix24__addresses,
    macro hc_b24_company_address_joins). With the demo's mapping it is the staged companies. -#}

-- imported only when the mapping takes a concept from the address (declared for every mapping):
-- depends_on: {{ ref('stg_bitrix24__addresses') }}
-- depends_on: {{ ref('stg_bitrix24__requisites') }}

with

companies as (

    select * from {{ ref('stg_bitrix24__companies') }}

),
{%- if hc_b24_address_concepts() %}

stg_bitrix24__addresses as (

    select * from {{ ref('stg_bitrix24__addresses') }}

),

stg_bitrix24__requisites as (

    select * from {{ ref('stg_bitrix24__requisites') }}

),
{%- endif %}

final as (

    select
        -- ids
        companies.company_id,
        companies.assigned_user_id,

        -- strings
        companies.company_title,
        companies.company_type,
        {{ hc_b24_company_column('companies', 'business_size', 'size', 'lower') }} as business_size,
        companies.employees_code,
        {{ hc_b24_company_column('companies', 'region', 'region') }} as region,
        {{ hc_b24_company_column('companies', 'channel', 'channel') }} as channel,

        -- numerics
        {{ hc_b24_company_column('companies', 'potential_rub', 'potential', 'numeric') }} as potential_rub,
        companies.revenue_declared,

        -- booleans
        companies.is_deleted,

        -- dates
        companies.created_at,
        companies.modified_at,
        companies.loaded_at,
        companies.deleted_at

    from {{ hc_b24_company_address_joins('companies') }}

)

select * from final
