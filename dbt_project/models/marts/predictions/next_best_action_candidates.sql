{#- Every action a manager could take now, with the revenue at stake (rubles), before ranking:
    - call_overdue: overdue for a purchase (overdue_clients) -> trailing-12-month revenue;
    - call_falling: falling in the last complete month (client_stability) -> base - period revenue;
    - win_back_lost: lost in the last complete month -> base revenue;
    - retain_at_risk: A/B client with high churn risk (BG/NBD p_alive < 0.5) -> revenue_t12 * (1 - p_alive);
    - offer_assortment: bought only part of the channel's mandatory matrix in the last complete
      month -> revenue_t12 * missing items / mandatory items;
    - attract_potential: prospect from the potential-clients file (latest year) that has not
      bought yet, for the manager named in the file -> its potential capacity, rubles/year.
    action_key = type:client:YYYY-MM (as_of month) is stable within a month: the write-back uses
    it as the task marker, so one action makes at most one task a month.
    Manager and department names, region, sales channel and segment cell (a prospect: the region
    of the potential-clients file, no channel or segment) are carried for the dashboards' native
    filters. -#}
{%- set month_key = period_label("'month'", period_start_of('month', as_of_date())) -%}

with

int_periods as (

    select * from {{ ref('int_periods') }}

),

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

overdue_clients as (

    select * from {{ ref('overdue_clients') }}

),

client_stability as (

    select * from {{ ref('client_stability') }}

),

client_predictions as (

    select * from {{ ref('client_predictions') }}

),

assortment_fulfilment as (

    select * from {{ ref('assortment_fulfilment') }}

),

stg_files__potential_clients as (

    select * from {{ ref('stg_files__potential_clients') }}

),

dim_managers as (

    select * from {{ ref('dim_managers') }}

),

dim_departments as (

    select * from {{ ref('dim_departments') }}

),

clients as (

    select * from {{ ref('dim_clients') }}

),

latest_month as (

    select max(period.period_start) as period_start
    from int_periods as period
    where
        period.period_grain = 'month'
        and period.is_complete
        and period.period_start <= {{ as_of_date() }}

),

revenue_t12 as (

    select
        fct.client_id,
        sum(fct.revenue) as revenue_t12
    from fct_sales_lines as fct
    where
        fct.document_date > {{ add_months(as_of_date(), -12) }}
        and fct.document_date <= {{ as_of_date() }}
    group by fct.client_id

),

overdue as (

    select
        'call_overdue' as action_type,
        overdue.client_id as client_id,
        coalesce(overdue.manager_id, clients.manager_id) as manager_id,
        overdue.revenue_t12 as revenue_at_stake,
        {{ dbt.concat([
            "'Просрочил закупку: '",
            dbt.safe_cast('overdue.days_since_last_purchase', dbt.type_string()),
            "' дн. без покупок при обычном интервале '",
            ru_number('overdue.mean_gap_days'),
            "' дн.; выручка за 12 мес. '",
            ru_number('overdue.revenue_t12'),
            "' ₽'",
        ]) }} as reason,
        cast(null as {{ dbt.type_string() }}) as prospect_name,
        cast(null as {{ dbt.type_string() }}) as prospect_region
    from overdue_clients as overdue
    left join clients
        on overdue.client_id = clients.client_id

),

stability as (

    select stab.*
    from client_stability as stab
    inner join latest_month
        on stab.period_start = latest_month.period_start
    where
        stab.period_grain = 'month'
        and stab.stability_type in ('falling', 'lost')

),

falling_or_lost as (

    select
        case stability.stability_type when 'falling' then 'call_falling' else 'win_back_lost' end as action_type,
        stability.client_id as client_id,
        coalesce(stability.manager_id, clients.manager_id) as manager_id,
        case stability.stability_type
            when 'falling' then stability.revenue_base - stability.revenue_period
            else stability.revenue_base
        end as revenue_at_stake,
        {{ dbt.concat([
            "case stability.stability_type when 'falling' then 'Падающий клиент' else 'Потерянный клиент' end",
            "': выручка за '", 'stability.period_label', "' — '",
            ru_number('stability.revenue_period'),
            "' ₽ против '",
            ru_number('stability.revenue_base'),
            "' ₽ в базе сравнения'",
        ]) }} as reason,
        cast(null as {{ dbt.type_string() }}) as prospect_name,
        cast(null as {{ dbt.type_string() }}) as prospect_region
    from stability
    left join clients
        on stability.client_id = clients.client_id

),

at_risk as (

    select
        'retain_at_risk' as action_type,
        predictions.client_id as client_id,
        clients.manager_id as manager_id,
        coalesce(revenue_t12.revenue_t12, 0) * (1 - predictions.p_alive) as revenue_at_stake,
        {{ dbt.concat([
            "'Клиент группы '", 'clients.abc_class',
            "' с высоким риском оттока: вероятность, что клиент активен, '",
            dbt.safe_cast('round(100 * predictions.p_alive)', dbt.type_string()),
            "'%; прогноз выручки на 12 мес. '",
            ru_number('predictions.clv_12m'),
            "' ₽'",
        ]) }} as reason,
        cast(null as {{ dbt.type_string() }}) as prospect_name,
        cast(null as {{ dbt.type_string() }}) as prospect_region
    from client_predictions as predictions
    inner join clients
        on predictions.client_id = clients.client_id
    left join revenue_t12
        on predictions.client_id = revenue_t12.client_id
    where
        predictions.churn_risk = 'high'
        and clients.abc_class in ('A', 'B')

),

assortment_gaps as (

    select
        'offer_assortment' as action_type,
        fulfilment.client_id as client_id,
        fulfilment.manager_id as manager_id,
        coalesce(revenue_t12.revenue_t12, 0)
        * (fulfilment.mandatory_items - fulfilment.bought_items) / fulfilment.mandatory_items as revenue_at_stake,
        {{ dbt.concat([
            "'Ассортиментная матрица за '", 'fulfilment.period_label', "': куплено '",
            dbt.safe_cast('fulfilment.bought_items', dbt.type_string()), "' из '",
            dbt.safe_cast('fulfilment.mandatory_items', dbt.type_string()),
            "' обязательных позиций — предложить недостающие'",
        ]) }} as reason,
        cast(null as {{ dbt.type_string() }}) as prospect_name,
        cast(null as {{ dbt.type_string() }}) as prospect_region
    from assortment_fulfilment as fulfilment
    inner join latest_month
        on fulfilment.period_start = latest_month.period_start
    left join revenue_t12
        on fulfilment.client_id = revenue_t12.client_id
    where
        fulfilment.period_grain = 'month'
        and not fulfilment.is_complete
        and fulfilment.mandatory_items > 0

),

potential_years as (

    select max(files.year) as latest_year
    from stg_files__potential_clients as files
    where not files.is_deleted

),

potential as (

    select files.*
    from stg_files__potential_clients as files
    inner join potential_years
        on files.year = potential_years.latest_year
    where not files.is_deleted

),

buyers as (

    select distinct clients.inn
    from clients
    where
        clients.first_purchase_date is not null
        and clients.inn is not null

),

to_attract as (

    select
        'attract_potential' as action_type,
        {{ dbt.concat(["'inn:'", 'potential.inn']) }} as client_id,
        potential.manager_id as manager_id,
        coalesce(potential.potential_rub, 0) as revenue_at_stake,
        {{ dbt.concat([
            "'Потенциальный клиент в регионе '", "coalesce(potential.region, '—')",
            "': '", "coalesce(potential.client_name, potential.inn)",
            "', ИНН '", 'potential.inn', "', потенциальная емкость '",
            ru_number('potential.potential_rub'), "' ₽ в год'",
        ]) }} as reason,
        potential.client_name as prospect_name,
        potential.region as prospect_region
    from potential
    left join buyers
        on potential.inn = buyers.inn
    where
        buyers.inn is null
        and potential.inn is not null

),

unioned as (

    select * from overdue
    union all
    select * from falling_or_lost
    union all
    select * from at_risk
    union all
    select * from assortment_gaps
    union all
    select * from to_attract

),

final as (

    select
        -- ids
        {{ dbt.concat(['unioned.action_type', "':'", 'unioned.client_id', "':'", month_key]) }} as action_key,
        unioned.client_id as client_id,
        unioned.manager_id as manager_id,
        clients.department_id as department_id,
        clients.bitrix24_company_id as bitrix24_company_id,

        -- strings
        unioned.action_type as action_type,
        case unioned.action_type
            when 'call_overdue' then 'Позвонить: просрочена закупка'
            when 'call_falling' then 'Позвонить: выручка падает'
            when 'win_back_lost' then 'Вернуть потерянного клиента'
            when 'retain_at_risk' then 'Удержать: высокий риск оттока'
            when 'offer_assortment' then 'Предложить ассортимент матрицы'
            when 'attract_potential' then 'Привлечь потенциального клиента'
        end as action_type_ru,
        coalesce(clients.client_name, unioned.prospect_name, unioned.client_id) as client_name,
        unioned.reason as reason,
        managers.manager_name as manager_name,
        departments.department_name as department_name,
        coalesce(clients.region, unioned.prospect_region) as region,
        clients.channel as channel,
        clients.segment_cell as segment,

        -- numerics
        case unioned.action_type
            when 'retain_at_risk' then 1
            when 'call_falling' then 2
            when 'call_overdue' then 3
            when 'win_back_lost' then 4
            when 'offer_assortment' then 5
            else 6
        end as action_priority,
        round(cast(coalesce(unioned.revenue_at_stake, 0) as {{ dbt.type_numeric() }}), 2) as revenue_at_stake,

        -- dates
        {{ as_of_date() }} as as_of_date

    from unioned
    left join clients
        on unioned.client_id = clients.client_id
    left join dim_managers as managers
        on unioned.manager_id = managers.manager_id
    left join dim_departments as departments
        on clients.department_id = departments.department_id

)

select * from final
