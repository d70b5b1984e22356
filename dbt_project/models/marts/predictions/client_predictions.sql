{#- The latest predictions per client (BG/NBD + Gamma-Gamma, written by predictions/model.py)
    with the client's manager and classes. Empty, with the same columns, until the Python step
    has run once, so a fresh `dbt build` does not fail. -#}
{%- set predictions_relation = source('predictions', 'client_predictions') -%}
{%- set predictions_exist = (not execute) or (load_relation(predictions_relation) is not none) -%}

with

{% if predictions_exist %}
predictions as (

    select * from {{ predictions_relation }}

),
{% else %}
predictions as (

    select
        cast(null as {{ dbt.type_string() }}) as client_id,
        cast(null as date) as as_of,
        cast(null as {{ dbt.type_int() }}) as frequency,
        cast(null as {{ dbt.type_int() }}) as recency,
        cast(null as {{ dbt.type_int() }}) as t,
        cast(null as {{ dbt.type_numeric() }}) as monetary_avg,
        cast(null as {{ dbt.type_float() }}) as p_alive,
        cast(null as {{ dbt.type_float() }}) as expected_purchases_90d,
        cast(null as {{ dbt.type_float() }}) as expected_purchases_365d,
        cast(null as {{ dbt.type_numeric() }}) as expected_order_value,
        cast(null as {{ dbt.type_numeric() }}) as clv_12m,
        cast(null as {{ dbt.type_string() }}) as churn_risk,
        cast(null as {{ dbt.type_string() }}) as churn_risk_label
    where 1 = 0

),
{% endif %}

latest as (

    select max(predictions.as_of) as as_of
    from predictions

),

final as (

    select
        -- ids
        predictions.client_id,
        clients.manager_id,
        clients.department_id,
        clients.bitrix24_company_id,

        -- strings
        clients.client_name,
        clients.abc_class,
        predictions.churn_risk,
        predictions.churn_risk_label,

        -- numerics
        predictions.frequency,
        predictions.recency,
        predictions.t,
        predictions.monetary_avg,
        predictions.p_alive,
        predictions.expected_purchases_90d,
        predictions.expected_purchases_365d,
        predictions.expected_order_value,
        predictions.clv_12m,

        -- dates
        predictions.as_of

    from predictions
    inner join latest
        on predictions.as_of = latest.as_of
    left join {{ ref('dim_clients') }} as clients
        on predictions.client_id = clients.client_id

)

select * from final
