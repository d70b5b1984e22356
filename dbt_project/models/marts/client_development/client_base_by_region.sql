{#- КБ by region (the seed's case table) per period, region and client scope ('A+B': clients
    of ABC class A or B as of the period end, 'all'):
    active = bought in the period and before it; attracted = first purchase ever in the period;
    potential = the uploaded potential list of the period's year; total = Rosstat outlets of
    the latest year ≤ the period's year; attraction_rate = attracted / potential;
    coverage_rate = (active + attracted) / total (not capped: above 1 when the clients in a region
    outnumber the reference's outlets, which a warning-severity test reports); rates rounded to
    4 decimals, null when the denominator is 0 or missing. -#}
with

client_period_revenue as (

    select * from {{ ref('client_period_revenue') }}

),

abc_xyz_clients as (

    select * from {{ ref('abc_xyz_clients') }}

),

int_outlets_by_region_year as (

    select * from {{ ref('int_outlets_by_region_year') }}

),

int_potential_clients_by_region_year as (

    select * from {{ ref('int_potential_clients_by_region_year') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

regions as (

    select * from {{ ref('dim_regions') }}

),

client_periods as (

    select
        revenue.period_grain as period_grain,
        revenue.period_start as period_start,
        revenue.region as region,
        revenue.client_id as client_id,
        revenue.purchase_days as purchase_days,
        revenue.is_first_purchase_period as is_first_purchase_period,
        coalesce(abc.abc_class, 'C') as abc_class
    from client_period_revenue as revenue
    left join abc_xyz_clients as abc
        on
            revenue.period_grain = abc.period_grain
            and revenue.period_start = abc.period_start
            and revenue.client_id = abc.client_id
    where revenue.purchase_days > 0

),

scoped as (

    select
        client_periods.*,
        'all' as client_scope
    from client_periods
    union all
    select
        client_periods.*,
        'A+B' as client_scope
    from client_periods
    where client_periods.abc_class in ('A', 'B')

),

counts as (

    select
        scoped.period_grain,
        scoped.period_start,
        scoped.region,
        scoped.client_scope,
        sum(case when scoped.is_first_purchase_period then 0 else 1 end) as active_clients,
        sum(case when scoped.is_first_purchase_period then 1 else 0 end) as attracted_clients
    from scoped
    group by scoped.period_grain, scoped.period_start, scoped.region, scoped.client_scope

),

scopes as (

    select 'A+B' as client_scope
    union all
    select 'all' as client_scope

),

grid as (

    select
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        periods.period_label as period_label,
        regions.region as region,
        scopes.client_scope as client_scope,
        {{ date_part_macro('year', 'periods.period_start') }} as period_year
    from periods
    cross join regions
    cross join scopes

),

outlets_year as (

    select
        grid.period_grain as period_grain,
        grid.period_start as period_start,
        grid.region as region,
        max(outlets.year) as outlets_year
    from grid
    inner join int_outlets_by_region_year as outlets
        on
            grid.region = outlets.region
            and grid.period_year >= outlets.year
    group by grid.period_grain, grid.period_start, grid.region

),

assembled as (

    select
        grid.period_grain as period_grain,
        grid.period_start as period_start,
        grid.period_label as period_label,
        grid.region as region,
        grid.client_scope as client_scope,
        outlets.total_outlets as total_outlets,
        coalesce(counts.active_clients, 0) as active_clients,
        coalesce(counts.attracted_clients, 0) as attracted_clients,
        coalesce(potential.potential_clients, 0) as potential_clients
    from grid
    left join counts
        on
            grid.period_grain = counts.period_grain
            and grid.period_start = counts.period_start
            and grid.region = counts.region
            and grid.client_scope = counts.client_scope
    left join int_potential_clients_by_region_year as potential
        on
            grid.region = potential.region
            and grid.period_year = potential.year
    left join outlets_year
        on
            grid.period_grain = outlets_year.period_grain
            and grid.period_start = outlets_year.period_start
            and grid.region = outlets_year.region
    left join int_outlets_by_region_year as outlets
        on
            outlets_year.region = outlets.region
            and outlets_year.outlets_year = outlets.year

)

select
    assembled.*,
    case assembled.client_scope when 'A+B' then 'Группы A и B' else 'Все клиенты' end as client_scope_label,
    row_number() over (
        partition by assembled.period_grain, assembled.period_start, assembled.client_scope
        order by assembled.region = 'Не указан' asc, assembled.total_outlets desc nulls last, assembled.region asc
    ) as region_order,
    round({{ safe_divide('assembled.attracted_clients', 'assembled.potential_clients') }}, 4) as attraction_rate,
    round(
        {{ safe_divide('assembled.active_clients + assembled.attracted_clients', 'assembled.total_outlets') }}, 4
    ) as coverage_rate
from assembled
