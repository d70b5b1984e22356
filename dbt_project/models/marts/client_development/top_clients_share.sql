{#- Per year: share of the top var top_clients_n clients (revenue descending, tie-break on
    client_id) in company revenue, and the same share a year earlier. Every client with a
    purchase before the year end takes part (revenue 0 when it has no row for the year:
    client_period_revenue is sparse); a client with negative revenue is ranked after all of
    those zeros, so its rank counts the clients without a row (clients_to_date − rows).
    Like for like (docs/kpi.md, «Period»): the unfinished year (is_period_to_date) counts up to
    as_of_date, and its last-year share is taken over the same elapsed part of last year
    (int_periods.sply_to_date_end), summed from that window's sales lines; complete years
    compare with the whole year before. -#}
with

years as (

    select * from {{ ref('int_periods') }}
    where period_grain = 'year'

),

revenue as (

    select * from {{ ref('client_period_revenue') }}
    where period_grain = 'year'

),

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

{# the elapsed part of last year that the unfinished year is compared with (no row when every year
    is complete) #}
last_year_window as (

    select
        years.period_start,
        years.sply_period_start as window_start,
        years.sply_to_date_end as window_end
    from years
    where years.is_period_to_date

),

last_year_to_date as (

    select
        last_year_window.period_start as period_start,
        sales_line.client_id as client_id,
        sum(sales_line.revenue) as revenue
    from fct_sales_lines as sales_line
    inner join last_year_window
        on
            sales_line.document_date >= last_year_window.window_start
            and sales_line.document_date < last_year_window.window_end
    group by last_year_window.period_start, sales_line.client_id

),

{# one row set per ranking window: each year whole (window_kind 'year', keyed by its start), and
    the elapsed part of the year before the unfinished one ('last_year_to_date', keyed by the
    unfinished year's start) #}
window_rows as (

    select
        'year' as window_kind,
        revenue.period_start,
        {{ add_months('revenue.period_start', 12) }} as window_end,
        revenue.client_id,
        revenue.revenue
    from revenue
    union all
    select
        'last_year_to_date' as window_kind,
        last_year_to_date.period_start as period_start,
        last_year_window.window_end as window_end,
        last_year_to_date.client_id as client_id,
        last_year_to_date.revenue as revenue
    from last_year_to_date
    inner join last_year_window
        on last_year_to_date.period_start = last_year_window.period_start

),

client_firsts as (

    select
        revenue.client_id,
        coalesce(min(revenue.first_purchase_date), min(revenue.period_start)) as first_date
    from revenue
    group by revenue.client_id

),

windows as (

    select distinct
        window_rows.window_kind,
        window_rows.period_start,
        window_rows.window_end
    from window_rows

),

clients_to_date as (

    select
        windows.window_kind as window_kind,
        windows.period_start as period_start,
        count(*) as clients
    from windows
    inner join client_firsts
        on windows.window_end > client_firsts.first_date
    group by windows.window_kind, windows.period_start

),

ranked as (

    select
        window_rows.window_kind as window_kind,
        window_rows.period_start as period_start,
        window_rows.client_id as client_id,
        window_rows.revenue as revenue,
        clients_to_date.clients as clients_to_date,
        row_number() over (
            partition by window_rows.window_kind, window_rows.period_start
            order by window_rows.revenue desc, window_rows.client_id asc
        ) as sparse_rank,
        count(*) over (partition by window_rows.window_kind, window_rows.period_start) as rows_in_window
    from window_rows
    inner join clients_to_date
        on
            window_rows.window_kind = clients_to_date.window_kind
            and window_rows.period_start = clients_to_date.period_start

),

ranked_windows as (

    select
        ranked.window_kind,
        ranked.period_start,
        ranked.client_id,
        ranked.revenue,
        ranked.sparse_rank
        + case when ranked.revenue < 0 then ranked.clients_to_date - ranked.rows_in_window else 0 end
            as revenue_rank
    from ranked

),

per_window as (

    select
        ranked_windows.window_kind,
        ranked_windows.period_start,
        sum(ranked_windows.revenue) as company_revenue,
        sum(case when ranked_windows.revenue_rank <= {{ var('top_clients_n') }} then ranked_windows.revenue else 0 end)
            as top_clients_revenue
    from ranked_windows
    group by ranked_windows.window_kind, ranked_windows.period_start

),

final as (

    select
        'year' as period_grain,
        per_year.period_start as period_start,
        years.period_label as period_label,
        years.period_label_ru as period_label_ru,
        years.is_period_to_date as is_period_to_date,
        {{ period_label("'year'", 'years.sply_period_start') }} || case
            when years.is_period_to_date
                then {{ to_date_suffix_ru("'year'", add_days('years.sply_to_date_end', -1)) }}
            else ''
        end as last_year_label_ru,
        {{ var('top_clients_n') }} as top_n,
        per_year.company_revenue as company_revenue,
        per_year.top_clients_revenue as top_clients_revenue,
        round({{ safe_divide('per_year.top_clients_revenue', 'per_year.company_revenue') }}, 4) as top_clients_share,
        round({{ safe_divide('last_year.top_clients_revenue', 'last_year.company_revenue') }}, 4)
            as top_clients_share_last_year
    from per_window as per_year
    inner join years
        on per_year.period_start = years.period_start
    left join per_window as last_year
        on
            last_year.window_kind = case when years.is_period_to_date then 'last_year_to_date' else 'year' end
            and last_year.period_start = case
                when years.is_period_to_date then per_year.period_start
                else {{ add_months('per_year.period_start', -12) }}
            end
    where per_year.window_kind = 'year'

)

select * from final
