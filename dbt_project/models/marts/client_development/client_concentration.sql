{#- Per period: share of company revenue earned by the top X% of clients (X in var
    concentration_top_shares; the top ceil(X × buying clients), revenue descending, tie-break
    on client_id). Buying clients = clients with positive revenue in the period. -#}
with

client_period_revenue as (

    select * from {{ ref('client_period_revenue') }}

),

ranked as (

    select
        revenue.period_grain,
        revenue.period_start,
        revenue.period_label,
        revenue.client_id,
        revenue.revenue,
        row_number() over (
            partition by revenue.period_grain, revenue.period_start
            order by revenue.revenue desc, revenue.client_id asc
        ) as revenue_rank,
        sum(case when revenue.revenue > 0 then 1 else 0 end) over (
            partition by revenue.period_grain, revenue.period_start
        ) as buying_clients,
        sum(revenue.revenue) over (partition by revenue.period_grain, revenue.period_start) as company_revenue
    from client_period_revenue as revenue

),

shares as (

    {% for share in var('concentration_top_shares') %}
        select
            ranked.period_grain,
            ranked.period_start,
            ranked.period_label,
            {{ share }} as top_share_of_clients,
            max(ranked.buying_clients) as buying_clients,
            max(ranked.company_revenue) as company_revenue,
            sum(case when ranked.revenue_rank <= ceil({{ share }} * ranked.buying_clients) then 1 else 0 end)
                as top_clients,
            sum(
                case
                    when ranked.revenue_rank <= ceil({{ share }} * ranked.buying_clients) then ranked.revenue else 0
                end
            )
                as top_clients_revenue
        from ranked
        group by ranked.period_grain, ranked.period_start, ranked.period_label
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    shares.*,
    round({{ safe_divide('shares.top_clients_revenue', 'shares.company_revenue') }}, 4) as top_clients_revenue_share
from shares
