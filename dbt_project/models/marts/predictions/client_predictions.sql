{#- The latest predictions per client (BG/NBD + Gamma-Gamma, written by predictions/model.py)
    with the client's manager and classes. Empty, with the same columns, until the Python step
    has run once (see stg_predictions__client_predictions). -#}
with

dim_clients as (

    select * from {{ ref('dim_clients') }}

),

predictions as (

    select * from {{ ref('stg_predictions__client_predictions') }}

),

latest as (

    select max(predictions.as_of) as as_of
    from predictions

),

final as (

    select
        -- ids
        predictions.client_id as client_id,
        clients.manager_id as manager_id,
        clients.department_id as department_id,
        clients.bitrix24_company_id as bitrix24_company_id,

        -- strings
        clients.client_name as client_name,
        clients.abc_class as abc_class,
        predictions.churn_risk as churn_risk,
        predictions.churn_risk_label as churn_risk_label,

        -- numerics
        predictions.frequency as frequency,
        predictions.recency as recency,
        predictions.t as t,
        predictions.monetary_avg as monetary_avg,
        predictions.p_alive as p_alive,
        predictions.expected_purchases_90d as expected_purchases_90d,
        predictions.expected_purchases_365d as expected_purchases_365d,
        predictions.expected_order_value as expected_order_value,
        predictions.clv_12m as clv_12m,

        -- dates
        predictions.as_of as as_of

    from predictions
    inner join latest
        on predictions.as_of = latest.as_of
    left join dim_clients as clients
        on predictions.client_id = clients.client_id

)

select * from final
