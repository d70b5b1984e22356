{#- Per period and stability type: number and share of clients, revenue of the period and its
    share, for the whole company and by manager, department, region and channel
    (dimension_type / dimension_value; 'company' / 'Коммерческая служба' for the whole).
    The unfinished period (is_period_to_date, period_label_ru «… (с начала года по 31.10)») is
    typed against the same elapsed part of its base (client_stability).
    manager_id / department_id carry the row-level security columns of manager and department
    rows (null elsewhere, so a Менеджер or Руководитель отдела sees only their own rows). -#}
{%- set dims = {
    'company': "'Коммерческая служба'",
    'manager': 'finest.manager_id',
    'department': 'finest.department_id',
    'region': 'finest.region',
    'channel': 'finest.channel',
} -%}
{%- set per_dimension -%}
    partition by by_dimension.period_grain, by_dimension.period_start, by_dimension.dimension_type,
    by_dimension.dimension_value
{%- endset -%}
with

stability as (

    select * from {{ ref('client_stability') }}

),

finest as (

    select
        stability.period_grain,
        stability.period_start,
        stability.period_label,
        stability.period_label_ru,
        stability.is_period_to_date,
        stability.base_label_ru,
        stability.stability_type,
        stability.stability_type_ru,
        stability.manager_id,
        stability.department_id,
        stability.region,
        stability.channel,
        count(*) as clients,
        sum(stability.revenue_period) as revenue_period,
        sum(stability.revenue_base) as revenue_base
    from stability
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12

),

by_dimension as (

    {% for dim, expr in dims.items() %}
        select
            finest.period_grain,
            finest.period_start,
            finest.period_label,
            finest.period_label_ru,
            finest.is_period_to_date,
            finest.base_label_ru,
            '{{ dim }}' as dimension_type,
            coalesce({{ dbt.safe_cast(expr, dbt.type_string()) }}, 'Не указан') as dimension_value,
            finest.stability_type,
            finest.stability_type_ru,
            {#- RLS columns (happyclient_rls): a manager row carries its manager and department, a
                department row its department; company, region and channel rows neither -#}
            {%- if dim == 'manager' %}
                {{ dbt.safe_cast('max(finest.manager_id)', dbt.type_string()) }} as manager_id,
                {{ dbt.safe_cast(
                    'case when max(finest.manager_id) is not null then max(finest.department_id) end',
                    dbt.type_string()
                ) }} as department_id,
            {%- elif dim == 'department' %}
                cast(null as {{ dbt.type_string() }}) as manager_id,
                {{ dbt.safe_cast('max(finest.department_id)', dbt.type_string()) }} as department_id,
            {%- else %}
                cast(null as {{ dbt.type_string() }}) as manager_id,
                cast(null as {{ dbt.type_string() }}) as department_id,
            {%- endif %}
            cast(sum(finest.clients) as {{ dbt.type_bigint() }}) as clients,
            sum(finest.revenue_period) as revenue_period,
            sum(finest.revenue_base) as revenue_base
        from finest
        group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    by_dimension.*,
    round(
        {{ safe_divide('by_dimension.clients', 'sum(by_dimension.clients) over (' ~ per_dimension ~ ')') }},
        4
    ) as clients_share,
    round(
        {{ safe_divide(
            'by_dimension.revenue_period', 'sum(by_dimension.revenue_period) over (' ~ per_dimension ~ ')'
        ) }},
        4
    ) as revenue_share
from by_dimension
