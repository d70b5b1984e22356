{#- Per year: share of the top var top_clients_n clients (revenue descending, tie-break on
    client_id) in company revenue, and the same share a year earlier. Every client with a
    purchase before the year end takes part (revenue 0 when it has no row for the year:
    client_period_revenue is sparse); a client with negative revenue is ranked after all of
    those zeros, so its rank counts the clients without a row (clients_to_date − rows). -#}
with

revenue as (

    select * from {{ ref('client_period_revenue') }}
    where period_grain = 'year'

),

first_years as (

    select
        client_first.first_year,
        count(*) as clients
    from (
        select min(revenue.period_start) as first_year
        from revenue
        group by revenue.client_id
    ) as client_first
    group by client_first.first_year

),

clients_to_date as (

    select
        years.period_start,
        sum(first_years.clients) as clients
    from (select distinct revenue.period_start from revenue) as years
    inner join first_years
        on years.period_start >= first_years.first_year
    group by years.period_start

),

ranked as (

    select
        revenue.period_start,
        revenue.period_label,
        revenue.client_id,
        revenue.revenue,
        clients_to_date.clients as clients_to_date,
        row_number() over (
            partition by revenue.period_start
            order by revenue.revenue desc, revenue.client_id asc
        ) as sparse_rank,
        count(*) over (partition by revenue.period_start) as rows_in_year
    from revenue
    inner join clients_to_date
        on revenue.period_start = clients_to_date.period_start

),

yearly as (

    select
        ranked.period_start,
        ranked.period_label,
        ranked.client_id,
        ranked.revenue,
        ranked.sparse_rank
        + case when ranked.revenue < 0 then ranked.clients_to_date - ranked.rows_in_year else 0 end
            as revenue_rank
    from ranked

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
