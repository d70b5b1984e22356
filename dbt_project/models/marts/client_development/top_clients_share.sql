{#- Per year: share of the top var top_clients_n clients (revenue descending, tie-break on
    client_id) in company revenue, and the same share a year earlier. -#}
with

yearly as (

    select
        revenue.period_start,
        revenue.period_label,
        revenue.client_id,
        revenue.revenue,
        row_number() over (
            partition by revenue.period_start
            order by revenue.revenue desc, revenue.client_id asc
        ) as revenue_rank
    from {{ ref('client_period_revenue') }} as revenue
    where revenue.period_grain = 'year'

),

per_year as (

    select
        yearly.period_start,
        yearly.period_label,
        sum(yearly.revenue) as company_revenue,
        sum(case when yearly.revenue_rank <= {{ var('top_clients_n') }} then yearly.revenue else 0 end)
            as top_clients_revenue
    from yearly
    group by yearly.period_start, yearly.period_label

),

final as (

    select
        'year' as period_grain,
        per_year.period_start,
        per_year.period_label,
        {{ var('top_clients_n') }} as top_n,
        per_year.company_revenue,
        per_year.top_clients_revenue,
        round({{ safe_divide('per_year.top_clients_revenue', 'per_year.company_revenue') }}, 4) as top_clients_share,
        round({{ safe_divide('last_year.top_clients_revenue', 'last_year.company_revenue') }}, 4)
            as top_clients_share_last_year
    from per_year
    left join per_year as last_year
        on last_year.period_start = {{ add_months('per_year.period_start', -12) }}

)

select * from final
