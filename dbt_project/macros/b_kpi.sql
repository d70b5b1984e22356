{#- dbt-B: one select list covering every column of `columns`, taking the expression from
    `expressions` (a dict column -> SQL) and 0 for the columns it does not provide, so that
    component CTEs can be combined with union all. -#}
{% macro b_measure_list(columns, expressions) -%}
    {%- for column in columns %}
        {{ expressions.get(column, '0') }} as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
