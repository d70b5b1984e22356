{#- Stability type of each client per period P against the comparison base B
    (var stability_base: 'sply' = same period last year, 'previous' = the period before,
    'avg_k' = the average of the var stability_avg_k previous periods). Rules, in order:
    new (first purchase ever in P); one-off (no purchase in P, bought in B, exactly one
    purchase day ever up to the end of P); lost (no purchase in P, bought in B);
    returned (bought in P, not in B, first purchase before B); growing (revenue P ≥ B × (1 +
    stability_change_pct)); falling (P ≤ B × (1 − stability_change_pct)); stable otherwise.
    Clients that bought neither in P nor in B have no row. -#}
{%- set base = var('stability_base') -%}
{%- if base not in ['sply', 'previous', 'avg_k'] -%}
    {{ exceptions.raise_compiler_error(
        "var stability_base must be 'sply', 'previous' or 'avg_k', got '" ~ base ~ "'"
    ) }}
{%- endif -%}
{%- set k = var('stability_avg_k') | int -%}
{%- set change = var('stability_change_pct') -%}
with

revenue as (

    select * from {{ ref('client_period_revenue') }}

),

periods as (

    select
        period.*,
        {%- if base == 'sply' %}
            period.sply_period_start as base_start,
            {{ add_months('period.sply_period_start', period_months_of('period.period_grain')) }} as base_end,
            1 as base_periods
        {%- elif base == 'previous' %}
        period.prev_period_start as base_start,
        period.period_start as base_end,
        1 as base_periods
        {%- else %}
        {{ add_months(
            'period.period_start', '-' ~ k ~ ' * ' ~ period_months_of('period.period_grain')
        ) }} as base_start,
        period.period_start as base_end,
        {{ k }} as base_periods
        {%- endif %}
    from {{ ref('int_periods') }} as period

),

purchase_days_to_date as (

    select
        periods.period_grain,
        periods.period_start,
        monthly.client_id,
        sum(monthly.purchase_days) as purchase_days_to_date
    from periods
    inner join revenue as monthly
        on
            monthly.period_grain = 'month'
            and periods.period_end > monthly.period_start
    group by periods.period_grain, periods.period_start, monthly.client_id

),

base as (

    select
        periods.period_grain,
        periods.period_start,
        base_revenue.client_id,
        sum(base_revenue.revenue) / max(periods.base_periods) as revenue_base,
        sum(base_revenue.purchase_days) as purchase_days_base
    from periods
    inner join revenue as base_revenue
        on
            periods.period_grain = base_revenue.period_grain
            and periods.base_start <= base_revenue.period_start
            and periods.base_end > base_revenue.period_start
    group by periods.period_grain, periods.period_start, base_revenue.client_id

),

compared as (

    select
        current_period.period_grain,
        current_period.period_start,
        current_period.period_label,
        current_period.client_id,
        current_period.manager_id,
        current_period.department_id,
        current_period.region,
        current_period.channel,
        periods.base_start,
        current_period.first_purchase_date,
        current_period.revenue as revenue_period,
        current_period.purchase_days as purchase_days_period,
        to_date.purchase_days_to_date,
        current_period.is_first_purchase_period,
        round(coalesce(base.revenue_base, 0), 2) as revenue_base,
        coalesce(base.purchase_days_base, 0) as purchase_days_base
    from revenue as current_period
    inner join periods
        on
            current_period.period_grain = periods.period_grain
            and current_period.period_start = periods.period_start
    left join base
        on
            current_period.period_grain = base.period_grain
            and current_period.period_start = base.period_start
            and current_period.client_id = base.client_id
    left join purchase_days_to_date as to_date
        on
            current_period.period_grain = to_date.period_grain
            and current_period.period_start = to_date.period_start
            and current_period.client_id = to_date.client_id

),

typed as (

    select
        compared.*,
        case
            when compared.is_first_purchase_period then 'new'
            when
                compared.purchase_days_period = 0
                and compared.purchase_days_base > 0
                and compared.purchase_days_to_date = 1
                then 'one-off'
            when compared.purchase_days_period = 0 and compared.purchase_days_base > 0 then 'lost'
            when compared.purchase_days_period = 0 then null
            when compared.purchase_days_base = 0 and compared.first_purchase_date < compared.base_start then 'returned'
            when compared.revenue_period >= compared.revenue_base * (1 + {{ change }}) then 'growing'
            when compared.revenue_period <= compared.revenue_base * (1 - {{ change }}) then 'falling'
            else 'stable'
        end as stability_type
    from compared

)

select
    typed.period_grain,
    typed.period_start,
    typed.period_label,
    typed.client_id,
    typed.manager_id,
    typed.department_id,
    typed.region,
    typed.channel,
    typed.stability_type,
    case typed.stability_type
        when 'new' then 'новый'
        when 'returned' then 'возвращенный'
        when 'lost' then 'потерянный'
        when 'growing' then 'растущий'
        when 'falling' then 'падающий'
        when 'stable' then 'стабильный'
        when 'one-off' then 'разовый'
    end as stability_type_ru,
    '{{ base }}' as comparison_base,
    typed.revenue_period,
    typed.revenue_base,
    typed.purchase_days_period,
    typed.purchase_days_base,
    typed.first_purchase_date
from typed
where typed.stability_type is not null
