{#- Predictions written by the Python step (predictions/model.py). Empty, with the same
    columns, until that step has run once, so a fresh `dbt build` does not fail. -#}
{%- set predictions_relation = source('predictions', 'client_predictions') -%}
{%- set predictions_exist = (not execute) or (load_relation(predictions_relation) is not none) -%}

with

predictions as (

    {% if predictions_exist %}
        select * from {{ predictions_relation }}
    {% else %}
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
    {% endif %}

)

select * from predictions
