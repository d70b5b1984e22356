{#- Aggregates without a common SQL spelling. -#}

{% macro bool_or_macro(expr) -%}
    bool_or({{ expr }})
{%- endmacro %}

{#- Population standard deviation. -#}
{% macro stddev_population(expr) -%}
    stddev_pop({{ expr }})
{%- endmacro %}
