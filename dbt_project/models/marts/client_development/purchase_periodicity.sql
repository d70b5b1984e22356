{#- Per client, as of as_of_date: gaps in days between distinct purchase days, their mean and
    population CV; regular when at least var periodicity_min_purchase_days purchase days and
    CV ≤ var periodicity_regular_max_cv; overdue when the days since the last purchase exceed
    least(var overdue_gap_multiplier × mean gap, var overdue_cap_days). -#}
with

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

int_clients_attributed as (

    select * from {{ ref('int_clients_attributed') }}

),

-- Each sale line with the date of the client's line before it. A line whose date differs from
-- the one before it (or that has none before it) starts a new purchase day, and the date before it
-- is the previous purchase day: the same gaps as `select distinct` days and then lag over them,
-- but planned as one sort by (client, date) that the window and the per-client grouping share.
-- The distinct days as a hash aggregate spilled at 10M lines and did not finish in 400 s
-- (PostgreSQL 15, work_mem 4 MB); this runs in about 16 s there (README «purchase_periodicity at 10M»).
line_dates as (

    select
        fct.client_id,
        fct.document_date as purchase_date,
        lag(fct.document_date) over (
            partition by fct.client_id order by fct.document_date
        ) as previous_line_date
    from fct_sales_lines as fct
    where fct.line_kind = 'sale' and fct.document_date <= {{ as_of_date() }}

),

gaps as (

    select
        line_dates.client_id,
        line_dates.purchase_date,
        {{ dbt.datediff('line_dates.previous_line_date', 'line_dates.purchase_date', 'day') }}
            as gap_days
    from line_dates
    where
        line_dates.previous_line_date is null
        or line_dates.previous_line_date <> line_dates.purchase_date

),

per_client as (

    select
        gaps.client_id,
        count(*) as purchase_days,
        max(gaps.purchase_date) as last_purchase_date,
        avg(gaps.gap_days * 1.0) as mean_gap_days,
        {{ stddev_population('gaps.gap_days * 1.0') }} as gap_stddev_days
    from gaps
    group by gaps.client_id

),

final as (

    select
        per_client.client_id as client_id,
        clients.manager_id as manager_id,
        clients.department_id as department_id,
        clients.region as region,
        clients.channel as channel,
        per_client.purchase_days as purchase_days,
        per_client.last_purchase_date as last_purchase_date,
        round(per_client.mean_gap_days, 2) as mean_gap_days,
        round({{ safe_divide('per_client.gap_stddev_days', 'per_client.mean_gap_days') }}, 4) as gap_cv,
        {{ dbt.datediff('per_client.last_purchase_date', as_of_date(), 'day') }}
            as days_since_last_purchase,
        round(case
            when per_client.mean_gap_days is not null
                then least(
                    {{ var('overdue_gap_multiplier') }} * per_client.mean_gap_days,
                    {{ var('overdue_cap_days') }}
                )
        end, 2) as overdue_threshold_days,
        coalesce(
            per_client.purchase_days >= {{ var('periodicity_min_purchase_days') }}
            and {{ safe_divide('per_client.gap_stddev_days', 'per_client.mean_gap_days') }}
            <= {{ var('periodicity_regular_max_cv') }},
            false
        ) as is_regular,
        coalesce(
            {{ dbt.datediff('per_client.last_purchase_date', as_of_date(), 'day') }}
            > least({{ var('overdue_gap_multiplier') }} * per_client.mean_gap_days, {{ var('overdue_cap_days') }}),
            false
        ) as is_overdue
    from per_client
    left join int_clients_attributed as clients
        on per_client.client_id = clients.client_id

)

select * from final
