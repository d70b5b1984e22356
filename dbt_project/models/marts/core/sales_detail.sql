{#- Drill-down (расшифровка) of every sales KPI: one row per revenue line with the 1C document
    number and date, client, product and the grain attributes. The table is as large as the fact;
    its chart shows the newest 1 000 rows, which the index on document_date reads without scanning
    the table (a backward index scan; at 10M lines the scan and sort took seconds). -#}
{{ config(indexes=postgres_indexes([{'columns': ['document_date']}])) }}

with

dim_managers as (

    select * from {{ ref('dim_managers') }}

),

dim_departments as (

    select * from {{ ref('dim_departments') }}

),

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

int_clients_attributed as (

    select * from {{ ref('int_clients_attributed') }}

),

dim_products as (

    select * from {{ ref('dim_products') }}

)

select
    fct.sales_line_id as sales_line_id,
    fct.onec_document_ref as onec_document_ref,
    fct.document_number as document_number,
    fct.document_date as document_date,
    fct.source as source,  -- noqa: RF04
    fct.line_kind as line_kind,
    fct.client_id as client_id,
    clients.client_name as client_name,
    clients.inn as inn,
    fct.product_id as product_id,
    products.product_name as product_name,
    fct.category as category,
    fct.manager_id as manager_id,
    managers.manager_name as manager_name,
    fct.department_id as department_id,
    departments.department_name as department_name,
    fct.region as region,
    fct.channel as channel,
    fct.quantity as quantity,
    fct.revenue as revenue
from fct_sales_lines as fct
left join int_clients_attributed as clients
    on fct.client_id = clients.client_id
left join dim_products as products
    on fct.product_id = products.product_id
left join dim_managers as managers
    on fct.manager_id = managers.manager_id
left join dim_departments as departments
    on fct.department_id = departments.department_id
