{#- Acquisition channels per period and lead source (crm.status.list SOURCE). A client is
    attributed to the source of its earliest lead, else of its earliest deal, else 'UNKNOWN'.
    new client = first purchase ever in the period (dim_clients.first_purchase_date);
    lead -> first shipment: leads created in the period whose client's first purchase came on
    or after the lead date; CAC = marketing spend of the source in the period / new clients
    attributed to it. -#}
with

fct_deals as (

    select * from {{ ref('fct_deals') }}

),

stg_files__marketing_spend as (

    select * from {{ ref('stg_files__marketing_spend') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

leads as (

    select * from {{ ref('fct_leads') }}

),

clients as (

    select * from {{ ref('dim_clients') }}

),

statuses as (

    select * from {{ ref('stg_bitrix24__statuses') }}
    where entity_id = 'SOURCE' and not is_deleted

),

source_names as (

    select
        statuses.status_id as source_id,
        min(statuses.status_name) as source_name
    from statuses
    group by statuses.status_id

),

client_touches as (

    select
        leads.client_id,
        leads.source_id,
        leads.created_at,
        1 as touch_priority,
        leads.lead_id as touch_id
    from leads
    where leads.client_id is not null and leads.source_id <> 'OTHER'

    union all

    select
        deals.client_id,
        deals.source_id,
        deals.created_at,
        2 as touch_priority,
        deals.deal_id as touch_id
    from fct_deals as deals
    where deals.client_id is not null and deals.source_id is not null

),

client_sources as (

    select
        client_id,
        source_id
    from (
        select
            client_touches.client_id,
            client_touches.source_id,
            row_number() over (
                partition by client_touches.client_id
                order by client_touches.touch_priority, client_touches.created_at, client_touches.touch_id
            ) as touch_rank
        from client_touches
    ) as ranked
    where touch_rank = 1

),

new_clients as (

    select
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        periods.period_label as period_label,
        coalesce(client_sources.source_id, 'UNKNOWN') as source_id,
        0 as leads_created,
        0 as leads_shipped,
        1 as new_clients,
        0 as spend_rub
    from clients
    inner join periods
        on
            clients.first_purchase_date >= periods.period_start
            and clients.first_purchase_date < periods.period_end
    left join client_sources
        on clients.client_id = client_sources.client_id

),

lead_rows as (

    select
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        periods.period_label as period_label,
        leads.source_id as source_id,
        1 as leads_created,
        case when clients.first_purchase_date >= leads.created_date then 1 else 0 end as leads_shipped,
        0 as new_clients,
        0 as spend_rub
    from leads
    inner join periods
        on
            leads.created_date >= periods.period_start
            and leads.created_date < periods.period_end
    left join clients
        on leads.client_id = clients.client_id

),

spend_rows as (

    select
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        periods.period_label as period_label,
        spend.source_id as source_id,
        0 as leads_created,
        0 as leads_shipped,
        0 as new_clients,
        spend.spend_rub as spend_rub
    from stg_files__marketing_spend as spend
    inner join periods
        on
            spend.spend_month >= periods.period_start
            and spend.spend_month < periods.period_end
    where not spend.is_deleted

),

combined as (

    select * from new_clients
    union all
    select * from lead_rows
    union all
    select * from spend_rows

),

aggregated as (

    select
        period_grain,
        period_start,
        period_label,
        source_id,
        sum(leads_created) as leads_created,
        sum(leads_shipped) as leads_shipped,
        sum(new_clients) as new_clients,
        sum(spend_rub) as marketing_spend_rub
    from combined
    group by period_grain, period_start, period_label, source_id

),

totals as (

    select
        aggregated.*,
        sum(aggregated.leads_created) over (
            partition by aggregated.period_grain, aggregated.period_start
        ) as period_leads,
        sum(aggregated.new_clients) over (
            partition by aggregated.period_grain, aggregated.period_start
        ) as period_new_clients
    from aggregated

),

final as (

    select
        -- ids
        {{ dbt.concat([
            'totals.period_grain', "'|'", 'totals.period_label', "'|'", 'totals.source_id',
        ]) }} as channel_row_id,
        totals.source_id as source_id,

        -- strings
        totals.period_grain as period_grain,
        totals.period_label as period_label,
        coalesce(
            source_names.source_name,
            case when totals.source_id = 'UNKNOWN' then 'Не указан' end,
            totals.source_id
        ) as source_name,

        -- numerics
        totals.leads_created as leads_created,
        totals.leads_shipped as leads_shipped,
        totals.new_clients as new_clients,
        totals.marketing_spend_rub as marketing_spend_rub,
        round(
            {{ decimal_ratio(
                'totals.leads_created', 'nullif(totals.period_leads, 0)', 100
            ) }}, 2
        ) as lead_share_pct,
        round(
            {{ decimal_ratio(
                'totals.new_clients', 'nullif(totals.period_new_clients, 0)', 100
            ) }}, 2
        ) as new_client_share_pct,
        round(
            {{ decimal_ratio(
                'totals.leads_shipped', 'nullif(totals.leads_created, 0)', 100
            ) }}, 2
        ) as lead_to_first_shipment_pct,
        case
            when totals.source_id <> 'UNKNOWN'
                then round(totals.marketing_spend_rub / nullif(totals.new_clients, 0), 2)
        end as cac_rub,

        -- dates
        totals.period_start as period_start

    from totals
    left join source_names
        on totals.source_id = source_names.source_id

)

select
    final.*,
    {{ unknown_last_order('final.source_name') }} as source_order
from final
