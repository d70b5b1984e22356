{#- Client records that could not be matched across systems, never dropped: missing or
    invalid ИНН, or a valid ИНН present in only one of 1C and Bitrix24. A cross-system check
    runs only when the other system is connected (dq_sources): a company without 1C sees no
    «no 1C counterparty» flags, one without Bitrix24 no «no Bitrix24 company» flags. The
    client's sales channel and segment cell (dim_clients) are carried for the dashboard's
    native filters. -#}
with

dq_sources as (

    select * from {{ ref('dq_sources') }}

),

dim_clients as (

    select * from {{ ref('dim_clients') }}

),

identity as (

    select * from {{ ref('int_client_identity') }}

),

systems_per_client as (

    select
        identity.client_id,
        sum(case when identity.source_system = 'onec' then 1 else 0 end) as onec_records,
        sum(case when identity.source_system = 'bitrix24' then 1 else 0 end) as bitrix24_records
    from identity
    group by identity.client_id

),

connected as (

    select
        coalesce(max(case when sources.source_system = 'onec' and sources.is_connected then 1 end), 0) = 1
            as onec_connected,
        coalesce(max(case when sources.source_system = 'bitrix24' and sources.is_connected then 1 end), 0) = 1
            as bitrix24_connected
    from dq_sources as sources

),

final as (

    select
        identity.identity_record_id as identity_record_id,
        identity.client_id as client_id,
        identity.source_system as source_system,
        identity.record_id as record_id,
        identity.client_name as client_name,
        identity.inn as inn,
        identity.kpp as kpp,
        clients.channel as channel,
        clients.segment_cell as segment,
        clients.segment_order as segment_order,
        case
            when identity.inn is null then 'missing_inn'
            when not identity.is_inn_valid then 'invalid_inn'
            when
                identity.source_system = 'onec' and connected.bitrix24_connected
                and systems_per_client.bitrix24_records = 0
                then 'no_bitrix24_company'
            when
                identity.source_system in ('bitrix24', 'file') and connected.onec_connected
                and systems_per_client.onec_records = 0
                then 'no_onec_counterparty'
        end as reason
    from identity
    inner join systems_per_client
        on identity.client_id = systems_per_client.client_id
    cross join connected
    left join dim_clients as clients
        on identity.client_id = clients.client_id

)

select
    final.*,
    case final.reason
        when 'missing_inn' then 'Нет ИНН'
        when 'invalid_inn' then 'Неверный ИНН'
        when 'no_bitrix24_company' then 'Нет компании в Битрикс24'
        when 'no_onec_counterparty' then 'Нет контрагента в 1С'
    end as reason_label,
    {{ source_system_label('final.source_system') }} as source_system_label
from final
where final.reason is not null
