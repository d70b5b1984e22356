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

{#- every sale line placed in its period of each grain by an equality key -#}
bought as (

    select distinct
        periods.period_grain,
        periods.period_start,
        periods.period_label,
        sales_lines.client_id,
        lower(trim(sales_lines.category)) as category_key,
        lower(trim(products.sku)) as sku_key
    from {{ ref('fct_sales_lines') }} as sales_lines
    cross join (select distinct grain_periods.period_grain from periods as grain_periods) as grains
    inner join periods
        on
            grains.period_grain = periods.period_grain
            and {{ period_start_of_col('grains.period_grain', 'sales_lines.document_date') }} = periods.period_start
    left join {{ ref('dim_products') }} as products
        on sales_lines.product_id = products.product_id
    where sales_lines.line_kind = 'sale'

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
        bought.period_grain,
        bought.period_start,
        bought.client_id,
        bought.category_key
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
        lower(trim(matrix.category)) as category_key,
        lower(trim(matrix.sku)) as sku_key,
        matrix.is_whole_category
    from buyers
    inner join clients
        on buyers.client_id = clients.client_id
    inner join matrix
        on lower(trim(clients.channel)) = lower(trim(matrix.channel))

),

{#- joined on all their equality keys (period, client, category, and SKU for SKU items), so no
    plan can pair rows of different clients -#}
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
                when required.is_whole_category and bought_category.client_id is not null then 1
                when bought_sku.client_id is not null then 1
                else 0
            end
        ) as is_bought
    from required
    left join bought_categories as bought_category
        on
            required.period_grain = bought_category.period_grain
            and required.period_start = bought_category.period_start
            and required.client_id = bought_category.client_id
            and required.category_key = bought_category.category_key
    left join bought as bought_sku
        on
            required.period_grain = bought_sku.period_grain
            and required.period_start = bought_sku.period_start
            and required.client_id = bought_sku.client_id
            and required.category_key = bought_sku.category_key
            and required.sku_key = bought_sku.sku_key
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
