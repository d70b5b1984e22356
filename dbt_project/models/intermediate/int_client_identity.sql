{#- Every client record of every system with its client_id (macro client_identity_key):
    a valid ИНН (check digits) identifies the client, a branch КПП (separate division) makes
    a branch its own client; a record without a valid ИНН keeps its own id
    '<system>:<record id>' and is reported in dq_unmatched_clients. A client of the sales file
    is one record per ИНН, else per client code, else per name (macro file_client_record_key),
    so clients without an ИНН do not collapse into one. -#}
with

stg_bitrix24__requisites as (

    select * from {{ ref('stg_bitrix24__requisites') }}

),

stg_bitrix24__companies as (

    select * from {{ ref('stg_bitrix24__companies') }}

),

stg_files__sales_lines as (

    select * from {{ ref('stg_files__sales_lines') }}

),

counterparties as (

    select * from {{ ref('stg_onec__counterparties') }}
    where not is_deleted

),

requisites_ranked as (

    select
        requisite.company_id,
        requisite.inn,
        requisite.kpp,
        requisite.requisite_name,
        row_number() over (
            partition by requisite.company_id
            order by length(requisite.requisite_id), requisite.requisite_id
        ) as requisite_rank
    from stg_bitrix24__requisites as requisite
    where not requisite.is_deleted and requisite.company_id is not null

),

companies as (

    select
        company.company_id as company_id,
        company.company_title as company_title,
        requisites_ranked.inn as inn,
        requisites_ranked.kpp as kpp,
        requisites_ranked.requisite_name as requisite_name
    from stg_bitrix24__companies as company
    left join requisites_ranked
        on
            company.company_id = requisites_ranked.company_id
            and requisites_ranked.requisite_rank = 1
    where not company.is_deleted

),

file_lines as (

    select
        {{ file_client_record_key('file_line') }} as record_id,
        file_line.inn,
        file_line.client_name
    from stg_files__sales_lines as file_line
    where not file_line.is_deleted

),

file_clients as (

    select
        file_lines.record_id,
        max(file_lines.inn) as inn,
        min(file_lines.client_name) as client_name
    from file_lines
    group by file_lines.record_id

),

records as (

    select
        'onec' as source_system,
        counterparties.counterparty_id as record_id,
        counterparties.counterparty_name as client_name,
        counterparties.inn,
        counterparties.kpp
    from counterparties

    union all

    select
        'bitrix24' as source_system,
        companies.company_id as record_id,
        coalesce(companies.requisite_name, companies.company_title) as client_name,
        companies.inn,
        companies.kpp
    from companies

    union all

    select
        'file' as source_system,
        file_clients.record_id,
        file_clients.client_name,
        file_clients.inn,
        cast(null as {{ dbt.type_string() }}) as kpp
    from file_clients

),

final as (

    select
        {{ dbt.concat(['records.source_system', "':'", 'records.record_id']) }} as identity_record_id,
        {{ client_identity_key('records.inn', 'records.kpp', 'records.source_system', 'records.record_id') }}
            as client_id,
        records.source_system,
        records.record_id,
        records.client_name,
        records.inn,
        records.kpp,
        {{ is_valid_inn('records.inn') }} as is_inn_valid
    from records

)

select * from final
