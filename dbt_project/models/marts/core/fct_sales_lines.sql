{#- Revenue lines (1C sales, 1C returns as negative lines, ERP file lines). Incremental:
    each run deletes (pre-hook) and rebuilds every line dated within var sales_reload_days of
    the newest document date already loaded, so late postings, unpostings and returns inside
    the window land; the cutoff is a literal so the filter reaches the raw scans. -#}
{%- set cutoff_sql -%}
    select {{ add_days('max(loaded.document_date)', -1 * var('sales_reload_days')) }} from {{ this }} as loaded
{%- endset -%}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='sales_line_id',
    on_schema_change='fail',
    pre_hook=[
        "{% if is_incremental() %}delete from {{ this }} where document_date >= (" ~ cutoff_sql ~ "){% endif %}"
    ],
) }}

{%- set reload_from = none -%}
{%- if is_incremental() and execute -%}
    {%- set reload_from = run_query(cutoff_sql).columns[0].values()[0] -%}
{%- endif %}

with

lines as (

    select * from {{ ref('int_sales_lines_unioned') }}
    {% if reload_from is not none %}
        where document_date >= cast('{{ reload_from }}' as date)
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
