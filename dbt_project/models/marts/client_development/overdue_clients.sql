{#- The list a manager works from: clients overdue for a purchase (purchase_periodicity), with
    name, ИНН and current segment cell (dim_clients), the last 1C document and the
    trailing-12-month revenue at stake. Manager and department names and the segment are carried
    so that the dashboard's native filters (Менеджер, Отдел, Сегмент) apply to the list. -#}
with

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

purchase_periodicity as (

    select * from {{ ref('purchase_periodicity') }}

),

dim_clients as (

    select * from {{ ref('dim_clients') }}

),

dim_managers as (

    select * from {{ ref('dim_managers') }}

),

dim_departments as (

    select * from {{ ref('dim_departments') }}

),

last_document as (

    select
        fct.client_id as client_id,
        max(fct.document_number) as last_document_number
    from fct_sales_lines as fct
    inner join purchase_periodicity as periodicity
        on
            fct.client_id = periodicity.client_id
            and fct.document_date = periodicity.last_purchase_date
    where fct.line_kind = 'sale'
    group by fct.client_id

),

revenue_t12 as (

    select
        fct.client_id,
        sum(fct.revenue) as revenue_t12
    from fct_sales_lines as fct
    where
        fct.document_date > {{ add_months(as_of_date(), -12) }}
        and fct.document_date <= {{ as_of_date() }}
    group by fct.client_id

)

select
    periodicity.client_id as client_id,
    clients.client_name as client_name,
    clients.inn as inn,
    periodicity.manager_id as manager_id,
    managers.manager_name as manager_name,
    periodicity.department_id as department_id,
    departments.department_name as department_name,
    periodicity.region as region,
    periodicity.channel as channel,
    clients.segment_cell as segment,
    clients.segment_order as segment_order,
    periodicity.last_purchase_date as last_purchase_date,
    last_document.last_document_number as last_document_number,
    periodicity.days_since_last_purchase as days_since_last_purchase,
    periodicity.mean_gap_days as mean_gap_days,
    periodicity.overdue_threshold_days as overdue_threshold_days,
    periodicity.is_regular as is_regular,
    coalesce(revenue_t12.revenue_t12, 0) as revenue_t12
from purchase_periodicity as periodicity
left join dim_clients as clients
    on periodicity.client_id = clients.client_id
left join dim_managers as managers
    on periodicity.manager_id = managers.manager_id
left join dim_departments as departments
    on periodicity.department_id = departments.department_id
left join last_document
    on periodicity.client_id = last_document.client_id
left join revenue_t12
    on periodicity.client_id = revenue_t12.client_id
where periodicity.is_overdue
