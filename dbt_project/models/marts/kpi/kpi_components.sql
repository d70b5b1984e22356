{#- Additive building blocks of the KPI panel per period (month, quarter, year) and manager:
    sums and counts only, so that department and company totals are sums of manager rows and
    the ratios are taken after summing (kpi_panel). manager_id is null for revenue, clients
    and deals with no responsible manager (they count for the company only).
    Like for like (docs/kpi.md, «Period»): the unfinished period holding as_of_date counts its facts
    up to as_of_date, its SPLY revenue over the same elapsed part of last year (int_periods.
    sply_to_date_end), and its plan pro rata: whole months elapsed count whole, the month of
    as_of_date counts its elapsed days / its days (plan_days_elapsed), later months 0. Mean targets
    (growth %, conversion %) average the plan months begun. Complete periods are unchanged. -#}
{%- set columns = [
    'revenue_rub', 'sales_orders', 'sply_revenue_rub', 'sply_sales_orders', 'new_clients',
    'stable_clients', 'stable_clients_previous', 'deals_created', 'deals_won', 'activities_done',
    'revenue_plan_rub', 'new_clients_plan', 'stable_growth_plan', 'aov_growth_plan_pct_sum',
    'aov_growth_plan_rows', 'conversion_target_pct_sum', 'plan_rows', 'activities_norm',
    'assortment_share_sum', 'assortment_clients', 'assortment_complete_clients',
] -%}
{#- a monthly plan figure times the elapsed part of its month (multiplied first: exact for whole days),
    summed and rounded to 6 decimals -#}
{%- set elapsed_days = ' * plans.plan_days_elapsed' -%}
{%- set order_key = dbt.concat([
    'documents.source', "'|'", 'documents.document_number', "'|'", 'cast(documents.document_date as ' ~ dbt.type_string() ~ ')',
]) -%}
{%- set sales_orders = "count(distinct case when documents.line_kind = 'sale' then " ~ order_key ~ " end)" -%}
{%- set components = {
    'revenue': {'revenue_rub': 'sum(documents.revenue)', 'sales_orders': sales_orders},
    'sply_revenue': {'sply_revenue_rub': 'sum(documents.revenue)', 'sply_sales_orders': sales_orders},
    'new_clients': {'new_clients': 'count(*)'},
    'stable': {'stable_clients': 'count(*)'},
    'stable_previous': {'stable_clients_previous': 'count(*)'},
    'deals': {'deals_created': 'count(*)', 'deals_won': 'sum(case when deals.is_won then 1 else 0 end)'},
    'activities': {'activities_done': 'count(*)'},
    'plans': {'revenue_plan_rub': 'round(sum(' ~ decimal_ratio('(plans.revenue_plan_rub)' ~ elapsed_days, 'plans.plan_month_days') ~ '), 6)',
              'new_clients_plan': 'round(sum(' ~ decimal_ratio('(plans.new_clients_plan)' ~ elapsed_days, 'plans.plan_month_days') ~ '), 6)',
              'stable_growth_plan': 'round(sum(' ~ decimal_ratio('(plans.stable_growth_plan)' ~ elapsed_days, 'plans.plan_month_days') ~ '), 6)',
              'aov_growth_plan_pct_sum': 'sum(case when plans.plan_days_elapsed > 0 then plans.aov_growth_plan_pct end)',
              'aov_growth_plan_rows': 'count(case when plans.plan_days_elapsed > 0 then plans.aov_growth_plan_pct end)',
              'conversion_target_pct_sum':
                  'sum(case when plans.plan_days_elapsed > 0 then plans.conversion_target_pct end)',
              'plan_rows': 'sum(case when plans.plan_days_elapsed > 0 then 1 else 0 end)',
              'activities_norm': 'round(sum(' ~ decimal_ratio('(plans.calls_norm + plans.meetings_norm + plans.tasks_norm)' ~ elapsed_days, 'plans.plan_month_days') ~ '), 6)'},
    'assortment': {'assortment_share_sum': 'sum(assortment.fulfilment_share)', 'assortment_clients': 'count(*)',
                   'assortment_complete_clients': 'sum(case when assortment.is_complete then 1 else 0 end)'},
} -%}
with

dim_managers as (

    select * from {{ ref('dim_managers') }}

),

int_periods as (

    select * from {{ ref('int_periods') }}

),

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

clients as (

    select * from {{ ref('dim_clients') }}

),

deals as (

    select * from {{ ref('fct_deals') }}

),

activities as (

    select * from {{ ref('fct_activities') }}

),

fct_sales_plans as (

    select * from {{ ref('fct_sales_plans') }}

),

assortment as (

    select * from {{ ref('assortment_fulfilment') }}

),

stable_counts as (

    select * from {{ ref('client_stability') }}
    where stability_type in ('stable', 'growing')

),

{# lines summed per manager, day, document and kind first (as client_period_revenue does): the grain
    expansion and the distinct orders below multiply documents, not lines (a document's key holds its
    day, so its distinct count per period is unchanged) #}
documents as (

    select
        fct_sales_lines.manager_id,
        fct_sales_lines.document_date,
        fct_sales_lines.source,
        fct_sales_lines.document_number,
        fct_sales_lines.line_kind,
        sum(fct_sales_lines.revenue) as revenue
    from fct_sales_lines
    group by
        fct_sales_lines.manager_id,
        fct_sales_lines.document_date,
        fct_sales_lines.source,
        fct_sales_lines.document_number,
        fct_sales_lines.line_kind

),

periods as (

    select
        int_periods.period_grain,
        int_periods.period_start,
        int_periods.period_end,
        int_periods.period_label,
        int_periods.prev_period_start,
        int_periods.to_date_end,
        int_periods.sply_to_date_end,
        int_periods.is_period_to_date,
        int_periods.period_label_ru,
        int_periods.sply_period_start
    from int_periods

),

{# the elapsed part of each plan month as of as_of_date, as plan_days_elapsed / plan_month_days: the
    whole month when it ended by then, the days to as_of_date for as_of_date's month (all of them
    on its last day), none for a later month #}
plan_months as (

    select
        fct_plans.*,
        {{ add_months('fct_plans.plan_month', 1) }} as next_month
    from fct_sales_plans as fct_plans

),

plans as (

    select
        plan_months.*,
        plan_months.next_month - plan_months.plan_month as plan_month_days,
        greatest(0, least(
            plan_months.next_month - plan_months.plan_month,
            {{ as_of_date() }} - plan_months.plan_month + 1
        )) as plan_days_elapsed
    from plan_months

),

revenue as (

    {{ kpi_component(
        'documents', columns, components['revenue'], date_column='document_date', end_column='to_date_end',
    ) }}

),

sply_revenue as (

    {{ kpi_component(
        'documents', columns, components['sply_revenue'], date_column='document_date',
        start_column='sply_period_start', end_column='sply_to_date_end',
    ) }}

),

new_clients as (

    {{ kpi_component(
        'clients', columns, components['new_clients'], date_column='first_purchase_date', end_column='to_date_end',
    ) }}

),

stable as (

    {{ kpi_component('stable_counts', columns, components['stable']) }}

),

stable_previous as (

    select
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        stable_counts.manager_id,{{ measure_list(columns, components['stable_previous']) }}
    from stable_counts
    inner join periods
        on
            stable_counts.period_grain = periods.period_grain
            and stable_counts.period_start = periods.prev_period_start
    group by periods.period_grain, periods.period_start, stable_counts.manager_id

),

deal_cohorts as (

    {{ kpi_component(
        'deals', columns, components['deals'], date_column='created_date', end_column='to_date_end',
    ) }}

),

activities_done as (

    {{ kpi_component(
        'activities', columns, components['activities'], date_column='activity_date', end_column='to_date_end',
        where='activities.is_counted_for_norms',
    ) }}

),

plan_totals as (

    {{ kpi_component('plans', columns, components['plans'], date_column='plan_month') }}

),

assortment_totals as (

    {{ kpi_component('assortment', columns, components['assortment']) }}

),

combined as (

    select * from revenue
    union all
    select * from sply_revenue
    union all
    select * from new_clients
    union all
    select * from stable
    union all
    select * from stable_previous
    union all
    select * from deal_cohorts
    union all
    select * from activities_done
    union all
    select * from plan_totals
    union all
    select * from assortment_totals

),

final as (

    select
        -- ids
        {{ dbt.concat([
            'combined.period_grain', "'|'", 'periods.period_label', "'|'", "coalesce(combined.manager_id, '-')",
        ]) }} as kpi_component_id,
        combined.manager_id as manager_id,
        managers.department_id as department_id,

        -- strings
        combined.period_grain as period_grain,
        periods.period_label as period_label,
        periods.period_label_ru as period_label_ru,

        -- numerics
        {%- for column in columns %}
            sum(combined.{{ column }}) as {{ column }},
        {%- endfor %}

        -- booleans
        periods.is_period_to_date as is_period_to_date,

        -- dates
        combined.period_start as period_start

    from combined
    inner join periods
        on
            combined.period_grain = periods.period_grain
            and combined.period_start = periods.period_start
    left join dim_managers as managers
        on combined.manager_id = managers.manager_id
    group by
        combined.period_grain,
        combined.period_start,
        periods.period_label,
        periods.period_label_ru,
        periods.is_period_to_date,
        combined.manager_id,
        managers.department_id

)

select * from final
