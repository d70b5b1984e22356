{#- Assortment matrix fulfilment per client and period: the share of the mandatory items of the
    client's sales channel (user file: a SKU, or a whole category when the SKU is empty) that the
    client bought in the period. Only clients that bought in the period and whose channel has a
    matrix are rated. Cost follows the distinct (client, month, category, SKU) purchases: the
    matrix is joined on channel and category, and client months and matched items are placed in
    their periods by equality keys; never a client × period × item grid. -#}
with

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

dim_products as (

    select * from {{ ref('dim_products') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

matrix as (

    select * from {{ ref('stg_files__assortment_matrix') }}
    where not is_deleted

),

clients as (

    select * from {{ ref('dim_clients') }}

),

matrix_items as (

    select
        matrix.assortment_item_id,
        matrix.is_whole_category,
        {{ lower_text('trim(matrix.channel)') }} as channel_key,
        {{ lower_text('trim(matrix.category)') }} as category_key,
        {{ lower_text('trim(matrix.sku)') }} as sku_key
    from matrix

),

channel_items as (

    select
        matrix_items.channel_key,
        count(distinct matrix_items.assortment_item_id) as mandatory_items
    from matrix_items
    group by matrix_items.channel_key

),

{# distinct purchases per client and month first: the grain expansion below multiplies client
   months and matched items, never lines #}
sale_months as (

    select distinct
        sales_lines.client_id as client_id,
        {{ period_start_of('month', 'sales_lines.document_date') }} as month_start,
        {{ lower_text('trim(sales_lines.category)') }} as category_key,
        {{ lower_text('trim(products.sku)') }} as sku_key
    from fct_sales_lines as sales_lines
    left join dim_products as products
        on sales_lines.product_id = products.product_id
    where sales_lines.line_kind = 'sale'

),

client_months as (

    select distinct
        sale_months.client_id,
        sale_months.month_start
    from sale_months

),

{# the matrix items each month's purchases cover: joined on channel and category only (the
   small matrix), so no plan can pair the rows of different clients or periods #}
matched_months as (

    select distinct
        sale_months.client_id as client_id,
        sale_months.month_start as month_start,
        matrix_items.assortment_item_id as assortment_item_id
    from sale_months
    inner join clients
        on sale_months.client_id = clients.client_id
    inner join matrix_items
        on
            {{ lower_text('trim(clients.channel)') }} = matrix_items.channel_key
            and sale_months.category_key = matrix_items.category_key
    where matrix_items.is_whole_category or sale_months.sku_key = matrix_items.sku_key

),

buyers_per_grain as (

    {{ rows_per_grain('client_months', 'client_months.month_start', ['client_months.client_id']) }}

),

matched_per_grain as (

    {{ rows_per_grain('matched_months', 'matched_months.month_start', [
        'matched_months.client_id', 'matched_months.assortment_item_id',
    ]) }}

),

{# the clients that bought in the period and whose channel has a matrix: its item count #}
rated as (

    select distinct
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        periods.period_label as period_label,
        buyers.client_id as client_id,
        clients.manager_id as manager_id,
        clients.department_id as department_id,
        clients.channel as channel,
        channel_items.mandatory_items as mandatory_items,
        0 as bought_items
    from buyers_per_grain as buyers
    inner join periods
        on
            buyers.period_grain = periods.period_grain
            and buyers.period_start = periods.period_start
    inner join clients
        on buyers.client_id = clients.client_id
    inner join channel_items
        on {{ lower_text('trim(clients.channel)') }} = channel_items.channel_key

),

matched as (

    select
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        periods.period_label as period_label,
        items.client_id as client_id,
        clients.manager_id as manager_id,
        clients.department_id as department_id,
        clients.channel as channel,
        cast(null as {{ dbt.type_bigint() }}) as mandatory_items,
        count(distinct items.assortment_item_id) as bought_items
    from matched_per_grain as items
    inner join periods
        on
            items.period_grain = periods.period_grain
            and items.period_start = periods.period_start
    inner join clients
        on items.client_id = clients.client_id
    group by
        periods.period_grain, periods.period_start, periods.period_label, items.client_id,
        clients.manager_id, clients.department_id, clients.channel

),

{# union and group instead of a join of the two client × period sets #}
checked as (

    select
        combined.period_grain,
        combined.period_start,
        combined.period_label,
        combined.client_id,
        combined.manager_id,
        combined.department_id,
        combined.channel,
        max(combined.mandatory_items) as mandatory_items,
        sum(combined.bought_items) as bought_items
    from (
        select * from rated
        union all
        select * from matched
    ) as combined
    group by
        combined.period_grain, combined.period_start, combined.period_label, combined.client_id,
        combined.manager_id, combined.department_id, combined.channel
    having max(combined.mandatory_items) is not null

),

final as (

    select
        -- ids
        {{ dbt.concat(['period_grain', "'|'", 'period_label', "'|'", 'client_id']) }} as assortment_row_id,
        client_id,
        manager_id,
        department_id,

        -- strings
        period_grain,
        period_label,
        channel,

        -- numerics
        mandatory_items,
        bought_items,
        round({{ decimal_ratio('bought_items', 'mandatory_items') }}, 4) as fulfilment_share,

        -- booleans
        bought_items = mandatory_items as is_complete,

        -- dates
        period_start

    from checked

)

select * from final
