{#- Aggregates without a common SQL spelling. -#}

{% macro bool_or_macro(expr) -%}
    {{ return(adapter.dispatch('bool_or_macro')(expr)) }}
{%- endmacro %}

{% macro default__bool_or_macro(expr) -%}
    bool_or({{ expr }})
{%- endmacro %}

{#- Population standard deviation. -#}
{% macro stddev_population(expr) -%}
    {{ return(adapter.dispatch('stddev_population')(expr)) }}
{%- endmacro %}

{% macro default__stddev_population(expr) -%}
    stddev_pop({{ expr }})
{%- endmacro %}
