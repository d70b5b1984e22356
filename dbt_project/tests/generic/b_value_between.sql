{#- dbt-B generic test: fails on rows whose value is outside [min_value, max_value]; nulls pass. -#}
{% test b_value_between(model, column_name, min_value, max_value) %}

select
    {{ column_name }} as failing_value
from {{ model }}
where
    {{ column_name }} < {{ min_value }}
    or {{ column_name }} > {{ max_value }}

{% endtest %}
