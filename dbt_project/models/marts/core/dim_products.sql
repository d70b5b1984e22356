{#- Products of 1C (category = top-level folder) and of the ERP sales file. -#}
with

int_products_categorized as (

    select * from {{ ref('int_products_categorized') }}

),

final as (

    select
        products.product_id,
        products.source_system,
        products.product_name,
        products.sku,
        products.category,
        products.subcategory
    from int_products_categorized as products

)

select * from final
