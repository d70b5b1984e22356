{#- One row per client (identity key client_id, see int_client_identity) with attributes and
    the latest classes: ABC/XYZ, stability type, segment cell as of the latest complete month
    (or the current month when none is complete), RFM segment as of as_of_date. -#}
with

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

int_periods as (

    select * from {{ ref('int_periods') }}

),

abc_xyz_clients as (

    select * from {{ ref('abc_xyz_clients') }}

),

client_stability as (

    select * from {{ ref('client_stability') }}

),

rfm_segments as (

    select * from {{ ref('rfm_segments') }}

),

clients as (

    select * from {{ ref('int_clients_attributed') }}

),

purchases as (

    select
        fct.client_id,
        min(fct.document_date) as first_purchase_date,
        max(fct.document_date) as last_purchase_date
    from fct_sales_lines as fct
    where fct.line_kind = 'sale'
    group by fct.client_id

),

latest_month as (

    select max(period.period_start) as period_start
    from int_periods as period
    where
        period.period_grain = 'month'
        and (period.is_complete or period.period_start = {{ period_start_of('month', as_of_date()) }})
        and period.period_start <= {{ as_of_date() }}

),

classes as (

    select
        abc.client_id as client_id,
        abc.abc_class as abc_class,
        abc.xyz_class as xyz_class
    from abc_xyz_clients as abc
    inner join latest_month
        on abc.period_start = latest_month.period_start
    where abc.period_grain = 'month'

),

stability as (

    select
        stab.client_id as client_id,
        stab.stability_type as stability_type,
        stab.stability_type_ru as stability_type_ru
    from client_stability as stab
    inner join latest_month
        on stab.period_start = latest_month.period_start
    where stab.period_grain = 'month'

),

final as (

    select
        -- ids
        clients.client_id as client_id,
        clients.onec_counterparty_key as onec_counterparty_key,
        clients.bitrix24_company_id as bitrix24_company_id,
        clients.manager_id as manager_id,
        clients.department_id as department_id,

        -- strings
        clients.client_name as client_name,
        clients.inn as inn,
        clients.kpp as kpp,
        clients.region as region,
        clients.channel as channel,
        clients.business_size as business_size,
        coalesce(classes.abc_class, 'C') as abc_class,
        coalesce(classes.xyz_class, 'Z') as xyz_class,
        stability.stability_type as stability_type,
        stability.stability_type_ru as stability_type_ru,
        {{ dbt.concat([
            'clients.business_size', "' / '", dbt.safe_cast('clients.potential_band', dbt.type_string()),
            "' / '", "coalesce(classes.abc_class, 'C')",
        ]) }} as segment_cell,
        {{ segment_order('clients.business_size', 'clients.potential_band', "coalesce(classes.abc_class, 'C')") }}
            as segment_order,
        rfm.rfm_segment as rfm_segment,

        -- numerics
        clients.potential_rub as potential_rub,
        clients.potential_band as potential_band,

        -- booleans
        clients.is_inn_valid as is_inn_valid,

        -- dates
        purchases.first_purchase_date as first_purchase_date,
        purchases.last_purchase_date as last_purchase_date

    from clients
    left join purchases
        on clients.client_id = purchases.client_id
    left join classes
        on clients.client_id = classes.client_id
    left join stability
        on clients.client_id = stability.client_id
    left join rfm_segments as rfm
        on clients.client_id = rfm.client_id

)

select * from final
