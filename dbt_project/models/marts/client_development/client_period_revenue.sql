{#- Client × period revenue (every grain of int_periods), sparse: one row per client and period
    in which the client has lines (sales or returns), from the period of its first purchase
    (its first line when it never bought) on, with distinct purchase days (days with a sale).
    A period without lines has no row: readers treat a missing row as zero. Every line is
    placed in its period of each grain by an equality key (macro rows_per_grain), so the cost
    follows the lines, never clients × periods. -#}
with

int_clients_attributed as (

    select * from {{ ref('int_clients_attributed') }}

),

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

{# lines summed per client, day, document and kind first: the grain expansion below multiplies
    documents, not lines #}
documents as (

    select
        lines.client_id,
        lines.document_date,
        lines.document_number,
        lines.line_kind,
        sum(lines.revenue) as revenue,
        sum(lines.quantity) as quantity
    from lines
    group by lines.client_id, lines.document_date, lines.document_number, lines.line_kind

),

documents_per_grain as (

    {{ rows_per_grain('documents', 'documents.document_date', [
        'documents.client_id', 'documents.document_date', 'documents.document_number', 'documents.line_kind',
        'documents.revenue', 'documents.quantity',
    ]) }}

),

aggregated as (

    select
        per_grain.period_grain,
        per_grain.period_start,
        per_grain.client_id,
        sum(per_grain.revenue) as revenue,
        sum(case when per_grain.line_kind = 'sale' then per_grain.revenue else 0 end) as sales_revenue,
        sum(case when per_grain.line_kind = 'return' then per_grain.revenue else 0 end) as returns_revenue,
        sum(per_grain.quantity) as quantity,
        count(distinct case when per_grain.line_kind = 'sale' then per_grain.document_date end) as purchase_days,
        count(distinct case when per_grain.line_kind = 'sale' then per_grain.document_number end) as sales_documents
    from documents_per_grain as per_grain
    group by per_grain.period_grain, per_grain.period_start, per_grain.client_id

),

final as (

    select
        -- grain
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        periods.period_end as period_end,
        periods.period_label as period_label,
        aggregated.client_id as client_id,
        clients.manager_id as manager_id,
        clients.department_id as department_id,
        clients.region as region,
        clients.channel as channel,

        -- dates
        first_purchase.first_purchase_date as first_purchase_date,

        -- numerics
        coalesce(aggregated.revenue, 0) as revenue,
        coalesce(aggregated.sales_revenue, 0) as sales_revenue,
        coalesce(aggregated.returns_revenue, 0) as returns_revenue,
        coalesce(aggregated.quantity, 0) as quantity,
        coalesce(aggregated.purchase_days, 0) as purchase_days,
        coalesce(aggregated.sales_documents, 0) as sales_documents,

        -- booleans
        coalesce(
            first_purchase.first_purchase_date >= periods.period_start
            and first_purchase.first_purchase_date < periods.period_end,
            false
        )
            as is_first_purchase_period

    from aggregated
    inner join periods
        on
            aggregated.period_grain = periods.period_grain
            and aggregated.period_start = periods.period_start
    inner join first_purchase
        on aggregated.client_id = first_purchase.client_id
    left join int_clients_attributed as clients
        on aggregated.client_id = clients.client_id
    where periods.period_end > coalesce(first_purchase.first_purchase_date, first_purchase.first_line_date)

)

select * from final
