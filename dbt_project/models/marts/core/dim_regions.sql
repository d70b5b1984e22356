{#- Every region name known to any source: 1C business regions, Bitrix24 companies, the
    Rosstat and potential-clients files, the ERP sales file. -#}
with

int_bitrix24_companies_mapped as (

    select * from {{ ref('int_bitrix24_companies_mapped') }}

),

stg_files__rosstat_outlets as (

    select * from {{ ref('stg_files__rosstat_outlets') }}

),

stg_files__potential_clients as (

    select * from {{ ref('stg_files__potential_clients') }}

),

stg_files__sales_lines as (

    select * from {{ ref('stg_files__sales_lines') }}

),

stg_onec__business_regions as (

    select * from {{ ref('stg_onec__business_regions') }}

),

names as (

    select onec_region.region_name as region from stg_onec__business_regions as onec_region
    union
    select company.region from int_bitrix24_companies_mapped as company
    union
    select outlets.region from stg_files__rosstat_outlets as outlets
    union
    select potential.region from stg_files__potential_clients as potential
    union
    select file_line.region from stg_files__sales_lines as file_line
    union
    select 'Не указан' as region

)

select
    names.region as region,
    onec_region.business_region_id as onec_business_region_key
from names
left join stg_onec__business_regions as onec_region
    on
        names.region = onec_region.region_name
        and not onec_region.is_deleted
where names.region is not null
