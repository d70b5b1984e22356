{#- Client records that could not be matched across systems, never dropped: missing or
    invalid ИНН, or a valid ИНН present in only one of 1C and Bitrix24. The client's sales
    channel and segment cell (dim_clients) are carried for the dashboard's native filters. -#}
with

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

final as (

    select
        identity.identity_record_id,
        identity.client_id,
        identity.source_system,
        identity.record_id,
        identity.client_name,
        identity.inn,
        identity.kpp,
        clients.channel,
        clients.segment_cell as segment,
        case
            when identity.inn is null then 'missing_inn'
            when not identity.is_inn_valid then 'invalid_inn'
            when identity.source_system = 'onec' and systems_per_client.bitrix24_records = 0 then 'no_bitrix24_company'
            when identity.source_system = 'bitrix24' and systems_per_client.onec_records = 0 then 'no_onec_counterparty'
            when identity.source_system = 'file' and systems_per_client.onec_records = 0 then 'no_onec_counterparty'
        end as reason
    from identity
    inner join systems_per_client
        on identity.client_id = systems_per_client.client_id
    left join {{ ref('dim_clients') }} as clients
        on identity.client_id = clients.client_id

)

select * from final
where reason is not null
