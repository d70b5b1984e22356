{#- One row per client_id with its attributes. 1C wins over Bitrix24 for name, region and
    channel; manager comes from the 1C partner's main manager (matched to Bitrix24 by name),
    else the Bitrix24 company's responsible user. Size and potential come from Bitrix24.
    A table (one row per client): as a view, each of its tests and each of the 13 models reading
    it matched every client record again. -#}
{{ config(materialized='table', post_hook=["{{ analyze_table() }}"]) }}
with

stg_onec__counterparties as (

    select * from {{ ref('stg_onec__counterparties') }}

),

stg_onec__partners as (

    select * from {{ ref('stg_onec__partners') }}

),

stg_onec__business_regions as (

    select * from {{ ref('stg_onec__business_regions') }}

),

int_onec_users_matched as (

    select * from {{ ref('int_onec_users_matched') }}

),

int_bitrix24_companies_mapped as (

    select * from {{ ref('int_bitrix24_companies_mapped') }}

),

stg_bitrix24__users as (

    select * from {{ ref('stg_bitrix24__users') }}

),

stg_files__sales_lines as (

    select * from {{ ref('stg_files__sales_lines') }}

),

identity as (

    select * from {{ ref('int_client_identity') }}

),

onec_side as (

    select
        identity.client_id as client_id,
        counterparty.counterparty_id as counterparty_id,
        counterparty.counterparty_name as counterparty_name,
        region.region_name as region_name,
        partner.sales_channel as sales_channel,
        matched_user.manager_id as manager_id,
        matched_user.department_id as department_id,
        row_number() over (
            partition by identity.client_id
            order by counterparty.is_deletion_marked, counterparty.counterparty_id
        ) as record_rank
    from identity
    inner join stg_onec__counterparties as counterparty
        on identity.record_id = counterparty.counterparty_id
    left join stg_onec__partners as partner
        on counterparty.partner_id = partner.partner_id
    left join stg_onec__business_regions as region
        on partner.business_region_id = region.business_region_id
    left join int_onec_users_matched as matched_user
        on partner.main_manager_user_id = matched_user.onec_user_id
    where identity.source_system = 'onec'

),

bitrix24_side as (

    select
        identity.client_id as client_id,
        company.company_id as company_id,
        company.company_title as company_title,
        company.region as region,
        company.channel as channel,
        company.business_size as business_size,
        company.employees_code as employees_code,
        company.potential_rub as potential_rub,
        company.assigned_user_id as assigned_user_id,
        {{ dbt.safe_cast('bitrix24_user.department_id', dbt.type_string()) }} as department_id,
        row_number() over (
            partition by identity.client_id
            order by length(company.company_id), company.company_id
        ) as record_rank
    from identity
    inner join int_bitrix24_companies_mapped as company
        on identity.record_id = company.company_id
    left join stg_bitrix24__users as bitrix24_user
        on company.assigned_user_id = bitrix24_user.user_id
    where identity.source_system = 'bitrix24'

),

file_side as (

    select
        identity.client_id as client_id,
        min(file_line.region) as region,
        min(file_line.channel) as channel
    from identity
    inner join stg_files__sales_lines as file_line
        on identity.record_id = coalesce(file_line.inn, file_line.client_name, 'без ИНН')
    where identity.source_system = 'file'
    group by identity.client_id

),

clients as (

    select
        identity.client_id,
        min(identity.client_name) as any_name,
        min(identity.inn) as inn,
        min(identity.kpp) as kpp,
        {{ bool_or_macro('identity.is_inn_valid') }} as is_inn_valid
    from identity
    group by identity.client_id

),

final as (

    select
        -- ids
        clients.client_id as client_id,
        onec_side.counterparty_id as onec_counterparty_key,
        bitrix24_side.company_id as bitrix24_company_id,
        coalesce(onec_side.manager_id, bitrix24_side.assigned_user_id) as manager_id,
        coalesce(onec_side.department_id, bitrix24_side.department_id) as department_id,

        -- strings
        coalesce(onec_side.counterparty_name, bitrix24_side.company_title, clients.any_name) as client_name,
        clients.inn as inn,
        clients.kpp as kpp,
        coalesce(onec_side.region_name, bitrix24_side.region, file_side.region, 'Не указан') as region,
        coalesce(onec_side.sales_channel, bitrix24_side.channel, file_side.channel, 'Не указан') as channel,
        coalesce(
            bitrix24_side.business_size,
            case bitrix24_side.employees_code
                {%- for code, size in var('business_size_by_employees').items() %}
                    when '{{ code }}' then '{{ size }}'
                {%- endfor %}
            end,
            'не указан'
        ) as business_size,

        -- numerics
        bitrix24_side.potential_rub as potential_rub,
        case
            when bitrix24_side.potential_rub >= {{ var('potential_band_1_min_rub') }} then 1
            when bitrix24_side.potential_rub >= {{ var('potential_band_2_min_rub') }} then 2
            else 3
        end as potential_band,

        -- booleans
        clients.is_inn_valid as is_inn_valid

    from clients
    left join onec_side
        on
            clients.client_id = onec_side.client_id
            and onec_side.record_rank = 1
    left join bitrix24_side
        on
            clients.client_id = bitrix24_side.client_id
            and bitrix24_side.record_rank = 1
    left join file_side
        on clients.client_id = file_side.client_id

)

select * from final
