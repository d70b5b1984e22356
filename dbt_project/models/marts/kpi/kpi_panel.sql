{#- Integrated KPI panel (KPI.md section 4): per period (month, quarter, year) and level
    (manager, department, company), each of the seven KPIs as fact, target, fulfilment % and
    done flag. Department and company rows sum the additive components of kpi_components and
    take ratios after summing. Formulas:
      sales_plan          fact = revenue, target = revenue plan
      new_clients         fact = clients with the first purchase in the period, target = plan
      stable_base_growth  fact = stable+growing clients now - in the previous period, target = plan
      order_growth        fact = (AOV / AOV same period last year - 1) * 100, target = mean planned %
      funnel_conversion   fact = won / created deals of the period's cohort * 100, target = mean target %
      activity_norms      fact = completed calls + meetings + tasks, target = sum of norms
      assortment_matrix   fact = mean share of mandatory items bought * 100, target = var assortment_target_pct
    fulfilment_pct = fact / target * 100; is_done = fulfilment_pct >= 100 * var kpi_done_min_ratio.
    The unfinished period holding as_of_date (is_period_to_date, period_label_ru «… (с начала года по
    31.10)») is compared like for like: facts to as_of_date, plans and SPLY cut to the same elapsed
    part (kpi_components). -#}
{%- set additive = [
    'revenue_rub', 'sales_orders', 'sply_revenue_rub', 'sply_sales_orders', 'new_clients',
    'stable_clients', 'stable_clients_previous', 'deals_created', 'deals_won', 'activities_done',
    'revenue_plan_rub', 'new_clients_plan', 'stable_growth_plan', 'aov_growth_plan_pct_sum',
    'aov_growth_plan_rows', 'conversion_target_pct_sum', 'plan_rows', 'activities_norm',
    'assortment_share_sum', 'assortment_clients', 'assortment_complete_clients',
] -%}
{%- set levels = {
    'manager': ('components.manager_id', 'components.department_id', 'components.manager_id is not null'),
    'department': (
        'cast(null as ' ~ dbt.type_string() ~ ')', 'components.department_id', 'components.department_id is not null'
    ),
    'company': ('cast(null as ' ~ dbt.type_string() ~ ')', 'cast(null as ' ~ dbt.type_string() ~ ')', '1 = 1'),
} -%}
{%- set kpis = [
    ('sales_plan', 'Выполнение планов продаж', 1,
     'totals.revenue_rub', 'totals.revenue_plan_rub', 'totals.revenue_rub', 'totals.revenue_plan_rub'),
    ('new_clients', 'Выполнение привлечения новых клиентов', 2,
     'totals.new_clients', 'totals.new_clients_plan', 'totals.new_clients', 'totals.new_clients_plan'),
    ('stable_base_growth', 'Расширение стабильной клиентской базы', 3,
     'totals.stable_clients - totals.stable_clients_previous', 'totals.stable_growth_plan',
     'totals.stable_clients', 'totals.stable_clients_previous'),
    ('order_growth', 'Динамика роста заказа', 4,
     decimal_ratio('((' ~ safe_divide('totals.revenue_rub', 'totals.sales_orders') ~ ')'
         ~ ' / nullif(' ~ safe_divide('totals.sply_revenue_rub', 'totals.sply_sales_orders') ~ ', 0) - 1)', factor=100),
     'totals.aov_growth_plan_pct_sum / nullif(totals.aov_growth_plan_rows, 0)',
     'totals.revenue_rub / nullif(totals.sales_orders, 0)',
     'totals.sply_revenue_rub / nullif(totals.sply_sales_orders, 0)'),
    ('funnel_conversion', 'Конверсия воронки продаж', 5,
     decimal_ratio('totals.deals_won', 'nullif(totals.deals_created, 0)', 100),
     'coalesce(totals.conversion_target_pct_sum / nullif(totals.plan_rows, 0), '
     ~ var('funnel_conversion_target_pct') ~ ')',
     'totals.deals_won', 'totals.deals_created'),
    ('activity_norms', 'Нормативы продаж', 6,
     'totals.activities_done', 'totals.activities_norm', 'totals.activities_done', 'totals.activities_norm'),
    ('assortment_matrix', 'Выполнение ассортиментной матрицы', 7,
     decimal_ratio('totals.assortment_share_sum', 'nullif(totals.assortment_clients, 0)', 100),
     var('assortment_target_pct') ~ '.0',
     'totals.assortment_share_sum', 'totals.assortment_clients'),
] -%}
with

dim_managers as (

    select * from {{ ref('dim_managers') }}

),

dim_departments as (

    select * from {{ ref('dim_departments') }}

),

components as (

    select * from {{ ref('kpi_components') }}

),

totals as (
    {% for level, (manager_expr, department_expr, condition) in levels.items() %}
        select
            '{{ level }}' as kpi_level,
            components.period_grain,
            components.period_start,
            components.period_label,
            components.period_label_ru,
            components.is_period_to_date,
            {{ manager_expr }} as manager_id,
            {% for column in additive %}
                sum(components.{{ column }}) as {{ column }},
            {% endfor %}
            {{ department_expr }} as department_id
        from components
        where {{ condition }}
        group by
            components.period_grain,
            components.period_start,
            components.period_label,
            components.period_label_ru,
            components.is_period_to_date,
            {{ manager_expr }},
            {{ department_expr }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

kpis as (
    {% for code, name, sort, fact, target, numerator, denominator in kpis %}
        select
            totals.kpi_level,
            totals.period_grain,
            totals.period_start,
            totals.period_label,
            totals.period_label_ru,
            totals.is_period_to_date,
            totals.manager_id,
            totals.department_id,
            '{{ code }}' as kpi_code,
            '{{ name }}' as kpi_name,
            {{ sort }} as kpi_sort,
            {{ dbt.safe_cast(fact, dbt.type_numeric()) }} as fact_value,
            {{ dbt.safe_cast(target, dbt.type_numeric()) }} as target_value,
            {{ dbt.safe_cast(numerator, dbt.type_numeric()) }} as numerator_value,
            {{ dbt.safe_cast(denominator, dbt.type_numeric()) }} as denominator_value,
            {% if code == 'assortment_matrix' -%}
                {{ decimal_ratio('totals.assortment_complete_clients', 'nullif(totals.assortment_clients, 0)', 100) }}
            {%- else -%}
                cast(null as {{ dbt.type_numeric() }})
            {%- endif %} as clients_complete_pct
        from totals
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        -- ids
        {{ dbt.concat([
            'kpis.kpi_level', "'|'", 'kpis.period_grain', "'|'", 'kpis.period_label', "'|'",
            "coalesce(kpis.department_id, '-')", "'|'", "coalesce(kpis.manager_id, '-')", "'|'", 'kpis.kpi_code',
        ]) }} as kpi_row_id,
        kpis.manager_id as manager_id,
        kpis.department_id as department_id,

        -- strings
        kpis.kpi_level as kpi_level,
        kpis.period_grain as period_grain,
        kpis.period_label as period_label,
        kpis.period_label_ru as period_label_ru,
        kpis.kpi_code as kpi_code,
        kpis.kpi_name as kpi_name,
        managers.manager_name as manager_name,
        coalesce(departments.department_name, case when kpis.kpi_level = 'company' then 'Коммерческая служба' end)
            as department_name,

        -- numerics
        kpis.kpi_sort as kpi_sort,
        {{ round_half_away('kpis.fact_value', 2) }} as fact_value,
        {{ round_half_away('kpis.target_value', 2) }} as target_value,
        {{ round_half_away('100.0 * kpis.fact_value / nullif(kpis.target_value, 0)', 2) }} as fulfilment_pct,
        kpis.numerator_value as numerator_value,
        kpis.denominator_value as denominator_value,
        {{ round_half_away('kpis.clients_complete_pct', 2) }} as clients_complete_pct,

        -- labels: fact and target as text in the KPI's own unit (the KPI table shows them)
        {{ kpi_value_label('kpis.kpi_code', round_half_away('kpis.fact_value', 2)) }} as fact_label,
        {{ kpi_value_label('kpis.kpi_code', round_half_away('kpis.target_value', 2)) }} as target_label,

        -- booleans
        kpis.is_period_to_date as is_period_to_date,
        case
            when kpis.fact_value is not null and kpis.target_value is not null and kpis.target_value <> 0
                then 100.0 * kpis.fact_value / kpis.target_value >= 100.0 * {{ var('kpi_done_min_ratio') }}
        end as is_done,

        -- dates
        kpis.period_start as period_start

    from kpis
    left join dim_managers as managers
        on kpis.manager_id = managers.manager_id
    left join dim_departments as departments
        on kpis.department_id = departments.department_id

)

select * from final
