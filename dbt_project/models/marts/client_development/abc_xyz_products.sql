{#- ABC/XYZ class of every product per period over the trailing 12 months as of the
    period end (macro abc_xyz_ctes), from fct_sales_lines (macro abc_xyz_monthly_sales). -#}
with

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

int_periods as (

    select * from {{ ref('int_periods') }}

),

dim_products as (

    select * from {{ ref('dim_products') }}

),

monthly as (

    {{ abc_xyz_monthly_sales('product_id') }}

),

{{ abc_xyz_ctes('monthly') }},

final as (

    select
        abc_xyz.period_grain as period_grain,
        abc_xyz.period_start as period_start,
        abc_xyz.period_label as period_label,
        abc_xyz.entity_id as product_id,
        products.product_name as product_name,
        products.category as category,
        {{ abc_xyz_columns('abc_xyz') }}
    from abc_xyz
    left join dim_products as products
        on abc_xyz.entity_id = products.product_id

)

select * from final
