{#- Russian number labels for text columns the dashboards show as they are: thousands separated
    by a no-break space, a decimal comma (1 234 567; 53,3). -#}
{% macro ru_number(expr, decimals=0) -%}
    {{ return(adapter.dispatch('ru_number')(expr, decimals)) }}
{%- endmacro %}

{% macro default__ru_number(expr, decimals) -%}
    translate(
        to_char(round(cast({{ expr }} as {{ dbt.type_numeric() }}), {{ decimals }}),
            'FM999,999,999,999,990{{ ("." ~ "0" * decimals) if decimals else "" }}'),
        ',.', ' ,'
    )
{%- endmacro %}

{#- A KPI's value in the KPI's own unit (kpi_panel.kpi_code): rubles «1 234 567 ₽», percents
    «53,3 %», counts «12». -#}
{% macro kpi_value_label(code_col, value_col) -%}
    (case
        when {{ value_col }} is null then '—'
        when {{ code_col }} = 'sales_plan' then {{ ru_number(value_col) }} || ' ₽'
        when {{ code_col }} in ('order_growth', 'funnel_conversion', 'assortment_matrix')
            then {{ ru_number(value_col, 1) }} || ' %'
        else {{ ru_number(value_col) }}
    end)
{%- endmacro %}

{#- A source system's name as the dashboards show it: onec → 1С, bitrix24 → Битрикс24,
    files/file → Файлы (anything else as it is). -#}
{% macro source_system_label(col) -%}
    (case {{ col }}
        when 'onec' then '1С'
        when 'bitrix24' then 'Битрикс24'
        when 'files' then 'Файлы'
        when 'file' then 'Файлы'
        else {{ col }}
    end)
{%- endmacro %}
