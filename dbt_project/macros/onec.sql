{#- 1C OData value cleaning: empty references, empty dates, space-padded strings. -#}

{% macro onec_ref(expr) -%}
    nullif({{ expr }}, '00000000-0000-0000-0000-000000000000')
{%- endmacro %}

{% macro onec_timestamp(expr) -%}
    cast(nullif({{ expr }}, '0001-01-01T00:00:00') as timestamp)
{%- endmacro %}

{% macro onec_string(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{% macro onec_bool(expr) -%}
    coalesce(cast({{ expr }} as boolean), false)
{%- endmacro %}

{#- Person names are matched across systems as «Фамилия Имя», case- and space-insensitive. -#}
{% macro normalize_person_name(expr) -%}
    nullif(lower(regexp_replace(trim({{ expr }}), '\s+', ' ', 'g')), '')
{%- endmacro %}

{#- Revenue of a 1C document line: Сумма includes VAT when the document's ЦенаВключаетНДС;
    revenue excludes VAT unless var revenue_includes_vat. -#}
{% macro onec_line_revenue(line, doc) -%}
    {%- if var('revenue_includes_vat') -%}
        ({{ line }}.amount + case when {{ doc }}.price_includes_vat then 0 else {{ line }}.vat_amount end)
    {%- else -%}
        ({{ line }}.amount - case when {{ doc }}.price_includes_vat then {{ line }}.vat_amount else 0 end)
    {%- endif -%}
{%- endmacro %}
