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

purchase_days as (

    select distinct
        fct.client_id,
        fct.document_date as purchase_date
    from fct_sales_lines as fct
    where fct.line_kind = 'sale' and fct.document_date <= {{ as_of_date() }}

),

previous_days as (

    select
        purchase_days.client_id,
        purchase_days.purchase_date,
        lag(purchase_days.purchase_date) over (
            partition by purchase_days.client_id order by purchase_days.purchase_date
        ) as previous_purchase_date
    from purchase_days

),

gaps as (

    select
        previous_days.client_id,
        previous_days.purchase_date,
        {{ dbt.datediff('previous_days.previous_purchase_date', 'previous_days.purchase_date', 'day') }}
            as gap_days
    from previous_days

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
