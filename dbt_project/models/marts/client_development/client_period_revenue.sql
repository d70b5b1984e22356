{#- Client × period (month, quarter, year) revenue, zero-filled from the client's first
    purchase period to the last period, with distinct purchase days (days with a sale). -#}
with

periods as (

    select * from {{ ref('int_periods') }}

),

lines as (

    select * from {{ ref('fct_sales_lines') }}
    where document_date <= {{ as_of_date() }}

),

first_purchase as (

    select
        lines.client_id,
        min(case when lines.line_kind = 'sale' then lines.document_date end) as first_purchase_date,
        min(lines.document_date) as first_line_date
    from lines
    group by lines.client_id

),

spine as (

    select
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.period_label,
        first_purchase.client_id,
        first_purchase.first_purchase_date
    from first_purchase
    inner join periods
        on periods.period_end > coalesce(first_purchase.first_purchase_date, first_purchase.first_line_date)

),

aggregated as (

    select
        spine.period_grain,
        spine.period_start,
        spine.client_id,
        sum(lines.revenue) as revenue,
        sum(case when lines.line_kind = 'sale' then lines.revenue else 0 end) as sales_revenue,
        sum(case when lines.line_kind = 'return' then lines.revenue else 0 end) as returns_revenue,
        sum(lines.quantity) as quantity,
        count(distinct case when lines.line_kind = 'sale' then lines.document_date end) as purchase_days,
        count(distinct case when lines.line_kind = 'sale' then lines.document_number end) as sales_documents
    from spine
    inner join lines
        on
            spine.client_id = lines.client_id
            and spine.period_start <= lines.document_date
            and spine.period_end > lines.document_date
    group by spine.period_grain, spine.period_start, spine.client_id

),

final as (

    select
        -- grain
        spine.period_grain,
        spine.period_start,
        spine.period_end,
        spine.period_label,
        spine.client_id,
        clients.manager_id,
        clients.department_id,
        clients.region,
        clients.channel,

        -- dates
        spine.first_purchase_date,

        -- numerics
        coalesce(aggregated.revenue, 0) as revenue,
        coalesce(aggregated.sales_revenue, 0) as sales_revenue,
        coalesce(aggregated.returns_revenue, 0) as returns_revenue,
        coalesce(aggregated.quantity, 0) as quantity,
        coalesce(aggregated.purchase_days, 0) as purchase_days,
        coalesce(aggregated.sales_documents, 0) as sales_documents,

        -- booleans
        coalesce(
            spine.first_purchase_date >= spine.period_start and spine.first_purchase_date < spine.period_end, false
        )
            as is_first_purchase_period

    from spine
    left join aggregated
        on
            spine.period_grain = aggregated.period_grain
            and spine.period_start = aggregated.period_start
            and spine.client_id = aggregated.client_id
    left join {{ ref('int_clients_attributed') }} as clients
        on spine.client_id = clients.client_id

)

select * from final
