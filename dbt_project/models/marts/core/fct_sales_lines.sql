{#- Revenue lines (1C sales, 1C returns as negative lines, ERP file lines). Incremental:
    each run deletes and rebuilds the documents dated within var sales_reload_days of the
    newest document date, so late postings, unpostings and returns inside the window land. -#}
{%- set reload_from -%}
    (select {{ add_days('max(newest.document_date)', -1 * var('sales_reload_days')) }}
     from {{ ref('int_sales_lines_unioned') }} as newest)
{%- endset -%}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='sales_line_id',
    on_schema_change='fail',
    pre_hook=[
        "{% if is_incremental() %}delete from {{ this }} where document_date >= " ~ reload_from ~ "{% endif %}"
    ],
) }}

with

lines as (

    select * from {{ ref('int_sales_lines_unioned') }}
    {% if is_incremental() %}
    where document_date >= {{ reload_from }}
    {% endif %}

),

clients as (

    select * from {{ ref('int_clients_attributed') }}

),

products as (

    select * from {{ ref('int_products_categorized') }}

),

final as (

    select
        -- ids
        lines.sales_line_id,
        lines.client_id,
        lines.product_id,
        coalesce(lines.manager_id, clients.manager_id) as manager_id,
        coalesce(lines.department_id, clients.department_id) as department_id,
        lines.onec_document_ref,

        -- strings
        lines.source,
        lines.line_kind,
        lines.document_number,
        coalesce(products.category, 'Без категории') as category,
        coalesce(lines.region, clients.region, 'Не указан') as region,
        coalesce(lines.channel, clients.channel, 'Не указан') as channel,

        -- numerics
        lines.quantity,
        lines.revenue,

        -- dates
        lines.document_date

    from lines
    left join clients
        on lines.client_id = clients.client_id
    left join products
        on lines.product_id = products.product_id

)

select * from final
