{#- Fails (one row: the model's row count and the bound) when the model has more rows than
    `bound`, a scalar SQL expression (usually a count over the model's inputs; refs in it are
    rendered), so every mart's size is checked against the data it is built from, not against
    clients × periods. `bound` is stated in words in the model's description. -#}
{% test row_count_at_most(model, bound) %}

select
    model_rows.row_count,
    bound_rows.row_bound
from (select count(*) as row_count from {{ model }}) as model_rows
cross join (select ({{ bound }}) as row_bound) as bound_rows
where model_rows.row_count > coalesce(bound_rows.row_bound, 0)

{% endtest %}
