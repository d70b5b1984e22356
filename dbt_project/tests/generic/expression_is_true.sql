{#- Fails with every row of the model where `expression` is not true (null counts as failing
    unless it is made explicit). Optional `where` narrows the rows checked. -#}
{% test expression_is_true(model, expression, where_clause=none) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if where_clause %}
    and ({{ where_clause }})
{%- endif %}

{% endtest %}
