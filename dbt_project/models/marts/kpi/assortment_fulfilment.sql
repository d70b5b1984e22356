{#- Assortment matrix fulfilment per client and period: the share of the mandatory items of the
    client's sales channel (user file: a SKU, or a whole category when the SKU is empty) that the
    client bought in the period. Only clients that bought in the period and whose channel has a
    matrix are rated. -#}
with

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

{# every sale line placed in its period of each grain by an equality key #}
sale_lines as (

    select
        sales_lines.client_id,
        sales_lines.document_date,
        lower(trim(sales_lines.category)) as category_key,
        lower(trim(products.sku)) as sku_key
    from {{ ref('fct_sales_lines') }} as sales_lines
    left join {{ ref('dim_products') }} as products
        on sales_lines.product_id = products.product_id
    where sales_lines.line_kind = 'sale'

),

sale_lines_per_grain as (

    {{ rows_per_grain('sale_lines', 'sale_lines.document_date', [
        'sale_lines.client_id', 'sale_lines.category_key', 'sale_lines.sku_key',
    ]) }}

),

bought as (

    select distinct
        periods.period_grain,
        periods.period_start,
        periods.period_label,
        per_grain.client_id,
        per_grain.category_key,
        per_grain.sku_key,
        {{ match_key([
            'periods.period_grain', 'periods.period_start', 'per_grain.client_id', 'per_grain.category_key',
            'per_grain.sku_key',
        ]) }} as sku_match_key
    from sale_lines_per_grain as per_grain
    inner join periods
        on
            per_grain.period_grain = periods.period_grain
            and per_grain.period_start = periods.period_start

),

buyers as (

    select distinct
        bought.period_grain,
        bought.period_start,
        bought.period_label,
        bought.client_id
    from bought

),

bought_categories as (

    select distinct
        {{ match_key([
            'bought.period_grain', 'bought.period_start', 'bought.client_id', 'bought.category_key',
        ]) }} as category_match_key
    from bought

),

required as (

    select
        buyers.period_grain,
        buyers.period_start,
        buyers.period_label,
        buyers.client_id,
        clients.manager_id,
        clients.department_id,
        clients.channel,
        matrix.assortment_item_id,
        matrix.is_whole_category,
        {{ match_key([
            'buyers.period_grain', 'buyers.period_start', 'buyers.client_id', 'lower(trim(matrix.category))',
        ]) }} as category_match_key,
        {{ match_key([
            'buyers.period_grain', 'buyers.period_start', 'buyers.client_id', 'lower(trim(matrix.category))',
            'lower(trim(matrix.sku))',
        ]) }} as sku_match_key
    from buyers
    inner join clients
        on buyers.client_id = clients.client_id
    inner join matrix
        on lower(trim(clients.channel)) = lower(trim(matrix.channel))

),

{# joined on one key of all their equality columns (period, client, category, and SKU for SKU
    items; macro match_key), so no plan can pair the rows of different clients of a period #}
checked as (

    select
        required.period_grain,
        required.period_start,
        required.period_label,
        required.client_id,
        required.manager_id,
        required.department_id,
        required.channel,
        required.assortment_item_id,
        max(
            case
                when required.is_whole_category and bought_category.category_match_key is not null then 1
                when bought_sku.sku_match_key is not null then 1
                else 0
            end
        ) as is_bought
    from required
    left join bought_categories as bought_category
        on required.category_match_key = bought_category.category_match_key
    left join bought as bought_sku
        on required.sku_match_key = bought_sku.sku_match_key
    group by
        required.period_grain, required.period_start, required.period_label, required.client_id,
        required.manager_id, required.department_id, required.channel, required.assortment_item_id

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
        count(*) as mandatory_items,
        sum(is_bought) as bought_items,
        round(1.0 * sum(is_bought) / count(*), 4) as fulfilment_share,

        -- booleans
        sum(is_bought) = count(*) as is_complete,

        -- dates
        period_start

    from checked
    group by period_grain, period_start, period_label, client_id, manager_id, department_id, channel

)

select * from final
