{#- Products of 1C (category = top-level folder) and of the ERP sales file. -#}
select
    product_id,
    source_system,
    product_name,
    sku,
    category,
    subcategory
from {{ ref('int_products_categorized') }}
