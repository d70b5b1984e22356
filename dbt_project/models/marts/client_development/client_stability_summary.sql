{#- Per period and stability type: number and share of clients, revenue of the period and its
    share, for the whole company and by manager, department, region and channel
    (dimension_type / dimension_value; 'company' / 'Коммерческая служба' for the whole). -#}
{%- set dims = {
    'company': "'Коммерческая служба'",
    'manager': 'stability.manager_id',
    'department': 'stability.department_id',
    'region': 'stability.region',
    'channel': 'stability.channel',
} -%}
{%- set per_dimension -%}
    partition by by_dimension.period_grain, by_dimension.period_start, by_dimension.dimension_type,
    by_dimension.dimension_value
{%- endset -%}
with

stability as (

    select * from {{ ref('client_stability') }}

),

by_dimension as (

    {% for dim, expr in dims.items() %}
        select
            stability.period_grain,
            stability.period_start,
            stability.period_label,
            '{{ dim }}' as dimension_type,
            coalesce({{ dbt.safe_cast(expr, dbt.type_string()) }}, 'Не указан') as dimension_value,
            stability.stability_type,
            stability.stability_type_ru,
            count(*) as clients,
            sum(stability.revenue_period) as revenue_period,
            sum(stability.revenue_base) as revenue_base
        from stability
        group by 1, 2, 3, 4, 5, 6, 7
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
