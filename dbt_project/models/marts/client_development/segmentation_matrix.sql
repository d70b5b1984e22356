{#- Segmentation matrix per period: business size × potential band × ABC class → number of
    clients (classes of abc_xyz_clients as of the period end), trend versus the previous
    period of the same grain (↑ ↓ =) and the strategy from the seed segment_strategies.
    The unfinished period (is_period_to_date) takes the classes as of as_of_date (the trailing
    12 months to as_of_date's month, macro abc_xyz_ctes), so its trend compares like for like
    with the previous period's classes as of that period's end. -#}
with

abc_xyz_clients as (

    select * from {{ ref('abc_xyz_clients') }}

),

int_clients_attributed as (

    select * from {{ ref('int_clients_attributed') }}

),

segment_strategies as (

    select * from {{ ref('segment_strategies') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

classes as (

    select
        abc.period_grain as period_grain,
        abc.period_start as period_start,
        abc.period_label as period_label,
        abc.client_id as client_id,
        abc.abc_class as abc_class,
        clients.business_size as business_size,
        clients.potential_band as potential_band
    from abc_xyz_clients as abc
    inner join int_clients_attributed as clients
        on abc.client_id = clients.client_id

),

cells as (

    select distinct
        strategies.business_size,
        strategies.potential_band,
        strategies.abc_class
    from segment_strategies as strategies
    union
    select distinct
        classes.business_size,
        classes.potential_band,
        classes.abc_class
    from classes

),

counts as (

    select
        classes.period_grain,
        classes.period_start,
        classes.business_size,
        classes.potential_band,
        classes.abc_class,
        count(*) as clients
    from classes
    group by
        classes.period_grain, classes.period_start, classes.business_size, classes.potential_band, classes.abc_class

),

grid as (

    select
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        periods.period_label as period_label,
        periods.period_label_ru as period_label_ru,
        periods.is_period_to_date as is_period_to_date,
        periods.prev_period_start as prev_period_start,
        cells.business_size as business_size,
        cells.potential_band as potential_band,
        cells.abc_class as abc_class
    from periods
    cross join cells

),

final as (

    select
        grid.period_grain as period_grain,
        grid.period_start as period_start,
        grid.period_label as period_label,
        grid.period_label_ru as period_label_ru,
        grid.is_period_to_date as is_period_to_date,
        grid.business_size as business_size,
        grid.potential_band as potential_band,
        grid.abc_class as abc_class,
        {{ dbt.concat([
            'grid.business_size', "' / '", dbt.safe_cast('grid.potential_band', dbt.type_string()),
            "' / '", 'grid.abc_class',
        ]) }} as segment,
        {{ segment_order('grid.business_size', 'grid.potential_band', 'grid.abc_class') }} as segment_order,
        coalesce(current_count.clients, 0) as clients,
        coalesce(previous_count.clients, 0) as clients_previous_period,
        case
            when coalesce(current_count.clients, 0) > coalesce(previous_count.clients, 0) then '↑'
            when coalesce(current_count.clients, 0) < coalesce(previous_count.clients, 0) then '↓'
            else '='
        end as trend,
        coalesce(strategies.strategy, 'не задана') as strategy
    from grid
    left join counts as current_count
        on
            grid.period_grain = current_count.period_grain
            and grid.period_start = current_count.period_start
            and grid.business_size = current_count.business_size
            and grid.potential_band = current_count.potential_band
            and grid.abc_class = current_count.abc_class
    left join counts as previous_count
        on
            grid.period_grain = previous_count.period_grain
            and grid.prev_period_start = previous_count.period_start
            and grid.business_size = previous_count.business_size
            and grid.potential_band = previous_count.potential_band
            and grid.abc_class = previous_count.abc_class
    left join segment_strategies as strategies
        on
            grid.business_size = strategies.business_size
            and grid.potential_band = strategies.potential_band
            and grid.abc_class = strategies.abc_class

)

select * from final
