{#- Products with their category: the top-level folder of the 1C folder hierarchy (up to four
    levels) and the immediate folder as subcategory. Products of the sales-lines file are
    keyed 'file:<name>' and have no category. -#}
with

stg_files__sales_lines as (

    select * from {{ ref('stg_files__sales_lines') }}

),

products as (

    select * from {{ ref('stg_onec__products') }}
    where not is_deleted

),

items as (

    select * from products
    where not is_folder

),

with_folders as (

    select
        items.product_id as product_id,
        items.product_name as product_name,
        items.sku as sku,
        parent.product_name as parent_name,
        grandparent.product_name as grandparent_name,
        great_grandparent.product_name as great_grandparent_name
    from items
    left join products as parent
        on items.parent_product_id = parent.product_id
    left join products as grandparent
        on parent.parent_product_id = grandparent.product_id
    left join products as great_grandparent
        on grandparent.parent_product_id = great_grandparent.product_id

),

file_products as (

    select distinct file_line.product_name
    from stg_files__sales_lines as file_line
    where file_line.product_name is not null

),

final as (

    select
        with_folders.product_id,
        'onec' as source_system,
        with_folders.product_name,
        with_folders.sku,
        coalesce(
            with_folders.great_grandparent_name,
            with_folders.grandparent_name,
            with_folders.parent_name,
            'Без категории'
        ) as category,
        coalesce(with_folders.parent_name, 'Без категории') as subcategory
    from with_folders

    union all

    select
        {{ dbt.concat(["'file:'", 'file_products.product_name']) }} as product_id,
        'file' as source_system,
        file_products.product_name,
        cast(null as {{ dbt.type_string() }}) as sku,
        'Без категории' as category,
        'Без категории' as subcategory
    from file_products

)

select * from final
