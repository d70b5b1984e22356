{#- Lost sales (упущенные продажи) per period and sales channel, in thousand rubles:
    Σ over falling clients of (B − P) + Σ over lost clients of B (client_stability). For the
    unfinished period (is_period_to_date) P runs to as_of_date and B is the same elapsed part of
    the base (like for like, docs/kpi.md «Period»). -#}
with

client_stability as (

    select * from {{ ref('client_stability') }}

)

select
    stability.period_grain,
    stability.period_start,
    stability.period_label,
    stability.period_label_ru,
    stability.is_period_to_date,
    stability.base_label_ru,
    stability.channel,
    sum(
        case when stability.stability_type = 'falling' then stability.revenue_base - stability.revenue_period else 0 end
    )
        as falling_loss_rub,
    sum(case when stability.stability_type = 'lost' then stability.revenue_base else 0 end) as lost_loss_rub,
    round((
        sum(
            case
                when stability.stability_type = 'falling' then stability.revenue_base - stability.revenue_period else 0
            end
        )
        + sum(case when stability.stability_type = 'lost' then stability.revenue_base else 0 end)
    ) / 1000, 3) as lost_sales_thousand_rub,
    sum(case when stability.stability_type = 'falling' then 1 else 0 end) as falling_clients,
    sum(case when stability.stability_type = 'lost' then 1 else 0 end) as lost_clients
from client_stability as stability
group by
    stability.period_grain,
    stability.period_start,
    stability.period_label,
    stability.period_label_ru,
    stability.is_period_to_date,
    stability.base_label_ru,
    stability.channel
