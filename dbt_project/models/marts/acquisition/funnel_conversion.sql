{#- Funnel per pipeline, stage and period, for the whole company, each department and each manager.
    A deal "reached" a stage when it entered it or any later in-progress or won stage (a lost deal
    reached the stages before it was lost). Cohort columns count deals created in the period;
    period columns count stage entries that happened in the period. stage_to_won_vs_first_ratio
    checks the seed's claim (stage 6 converts 5-13x better than stage 1). -#}
{%- set funnel_group = [
    'funnel_level', 'period_grain', 'period_start', 'pipeline_id', 'manager_id', 'department_id',
] -%}
{%- set funnel_grain = funnel_group + ['period_label'] -%}
{%- set measure_columns = [
    'stage_id', 'cohort_deals_created', 'cohort_deals_reached', 'cohort_reached_and_won', 'cohort_deals_won',
    'period_deals_entered', 'median_days_in_stage',
] -%}
with

stg_bitrix24__statuses as (

    select * from {{ ref('stg_bitrix24__statuses') }}

),

stg_bitrix24__deal_categories as (

    select * from {{ ref('stg_bitrix24__deal_categories') }}

),

deals as (

    select * from {{ ref('fct_deals') }}

),

history as (

    select * from {{ ref('fct_deal_stage_history') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

funnel_stages as (

    select
        statuses.status_id as stage_id,
        statuses.status_name as stage_name,
        statuses.sort_order as stage_sort,
        coalesce(statuses.category_id, '0') as pipeline_id,
        row_number() over (
            partition by coalesce(statuses.category_id, '0')
            order by statuses.sort_order, statuses.status_id
        ) as stage_number
    from stg_bitrix24__statuses as statuses
    where
        (statuses.entity_id = 'DEAL_STAGE' or statuses.entity_id like 'DEAL_STAGE\_%')
        and statuses.semantics in ('process', 'success')
        and not statuses.is_deleted

),

deal_reach as (

    select
        history.deal_id as deal_id,
        max(funnel_stages.stage_number) as max_stage_number
    from history
    inner join funnel_stages
        on
            history.pipeline_id = funnel_stages.pipeline_id
            and history.stage_id = funnel_stages.stage_id
    group by history.deal_id

),

{# each deal (by its creation date) and each stage entry (by its entry date) is placed in its
    period of every grain by an equality key (macro rows_per_grain), so the cost follows the
    deals and entries, never rows × periods #}
deals_per_grain as (

    {{ rows_per_grain('deals', 'deals.created_date', [
        'deals.pipeline_id', 'deals.deal_id', 'deals.manager_id', 'deals.department_id', 'deals.is_won',
    ]) }}

),

entries_per_grain as (

    {{ rows_per_grain('history', 'history.entered_date', [
        'history.pipeline_id', 'history.stage_id', 'history.deal_id', 'history.manager_id',
        'history.department_id', 'history.days_in_stage',
    ]) }}

),

{# deals counted per period, pipeline, manager, department, outcome and furthest stage before
    the levels and the stages multiply them: the cohort measures are sums of these counts #}
cohort_counts as (

    select
        per_grain.period_grain as period_grain,
        per_grain.period_start as period_start,
        per_grain.pipeline_id as pipeline_id,
        per_grain.manager_id as manager_id,
        per_grain.department_id as department_id,
        per_grain.is_won as is_won,
        coalesce(deal_reach.max_stage_number, 1) as max_stage_number,
        count(*) as deals_created
    from deals_per_grain as per_grain
    left join deal_reach
        on per_grain.deal_id = deal_reach.deal_id
    group by
        per_grain.period_grain,
        per_grain.period_start,
        per_grain.pipeline_id,
        per_grain.manager_id,
        per_grain.department_id,
        per_grain.is_won,
        coalesce(deal_reach.max_stage_number, 1)

),

cohort_leveled as (

    {{ funnel_levels('cohort_counts', ['is_won', 'max_stage_number', 'deals_created']) }}

),

entries_leveled as (

    {{ funnel_levels('entries_per_grain', ['stage_id', 'deal_id', 'days_in_stage']) }}

),

{# both measures are grouped without the period's label (the sort keys stay narrow) and
    matched to int_periods afterwards, which keeps the periods int_periods has #}
cohort_measured as (

    select
        {{ column_list(funnel_group, 'cohort_leveled') }},
        funnel_stages.stage_id as stage_id,
        sum(cohort_leveled.deals_created) as cohort_deals_created,
        sum(
            case
                when cohort_leveled.max_stage_number >= funnel_stages.stage_number
                    then cohort_leveled.deals_created
                else 0
            end
        ) as cohort_deals_reached,
        sum(
            case
                when cohort_leveled.max_stage_number >= funnel_stages.stage_number and cohort_leveled.is_won
                    then cohort_leveled.deals_created
                else 0
            end
        ) as cohort_reached_and_won,
        sum(case when cohort_leveled.is_won then cohort_leveled.deals_created else 0 end) as cohort_deals_won,
        0 as period_deals_entered,
        cast(null as {{ dbt.type_numeric() }}) as median_days_in_stage
    from cohort_leveled
    inner join funnel_stages
        on cohort_leveled.pipeline_id = funnel_stages.pipeline_id
    group by
        {{ column_list(funnel_group, 'cohort_leveled') }},
        funnel_stages.stage_id

),

entries_measured as (

    select
        {{ column_list(funnel_group) }},
        stage_id,
        0 as cohort_deals_created,
        0 as cohort_deals_reached,
        0 as cohort_reached_and_won,
        0 as cohort_deals_won,
        count(distinct deal_id) as period_deals_entered,
        {{ dbt.safe_cast(median('days_in_stage'), dbt.type_numeric()) }} as median_days_in_stage
    from entries_leveled
    group by
        {{ column_list(funnel_group) }},
        stage_id

),

combined as (

    select
        {%- for column in funnel_group + measure_columns %}
            unioned.{{ column }} as {{ column }},
        {%- endfor %}
        periods.period_label as period_label
    from (
        select * from cohort_measured
        union all
        select * from entries_measured
    ) as unioned
    inner join periods
        on
            unioned.period_grain = periods.period_grain
            and unioned.period_start = periods.period_start

),

measured as (

    select
        {{ column_list(funnel_grain, 'combined') }},
        combined.stage_id as stage_id,
        funnel_stages.stage_name as stage_name,
        funnel_stages.stage_number as stage_number,
        sum(combined.cohort_deals_created) as cohort_deals_created,
        sum(combined.cohort_deals_reached) as cohort_deals_reached,
        sum(combined.cohort_reached_and_won) as cohort_reached_and_won,
        sum(combined.cohort_deals_won) as cohort_deals_won,
        sum(combined.period_deals_entered) as period_deals_entered,
        max(combined.median_days_in_stage) as median_days_in_stage
    from combined
    inner join funnel_stages
        on
            combined.pipeline_id = funnel_stages.pipeline_id
            and combined.stage_id = funnel_stages.stage_id
    group by
        {{ column_list(funnel_grain, 'combined') }},
        combined.stage_id,
        funnel_stages.stage_name,
        funnel_stages.stage_number

),

with_previous as (

    select
        measured.*,
        lag(measured.cohort_deals_reached) over funnel_stages_in_order as cohort_reached_previous,
        first_value(measured.cohort_deals_reached) over funnel_stages_in_order as cohort_reached_first,
        lag(measured.period_deals_entered) over funnel_stages_in_order as period_entered_previous,
        first_value(
            {{ decimal_ratio('measured.cohort_reached_and_won', 'nullif(measured.cohort_deals_reached, 0)') }}
        ) over funnel_stages_in_order as first_stage_to_won_share
    from measured
    window funnel_stages_in_order as (
        partition by
            measured.funnel_level, measured.period_grain, measured.period_start, measured.pipeline_id,
            measured.manager_id, measured.department_id
        order by measured.stage_number
    )

),

final as (

    select
        -- ids
        {{ dbt.concat([
            'with_previous.funnel_level', "'|'", 'with_previous.period_grain', "'|'", 'with_previous.period_label',
            "'|'", 'with_previous.pipeline_id', "'|'", 'with_previous.stage_id',
            "'|'", "coalesce(with_previous.department_id, '')", "'|'", "coalesce(with_previous.manager_id, '')",
        ]) }} as funnel_row_id,
        with_previous.pipeline_id as pipeline_id,
        with_previous.stage_id as stage_id,
        with_previous.manager_id as manager_id,
        with_previous.department_id as department_id,

        -- strings
        with_previous.funnel_level as funnel_level,
        with_previous.period_grain as period_grain,
        with_previous.period_label as period_label,
        coalesce(pipelines.category_name, with_previous.pipeline_id) as pipeline_name,
        with_previous.stage_name as stage_name,

        -- numerics
        with_previous.stage_number as stage_number,
        with_previous.cohort_deals_created as cohort_deals_created,
        with_previous.cohort_deals_reached as cohort_deals_reached,
        with_previous.cohort_deals_won as cohort_deals_won,
        with_previous.cohort_reached_and_won as cohort_reached_and_won,
        round(
            {{ decimal_ratio(
                'with_previous.cohort_deals_reached', 'nullif(with_previous.cohort_reached_previous, 0)', 100
            ) }}, 2
        ) as cohort_conversion_from_previous_pct,
        round(
            {{ decimal_ratio(
                'with_previous.cohort_deals_reached', 'nullif(with_previous.cohort_reached_first, 0)', 100
            ) }}, 2
        ) as cohort_conversion_from_first_pct,
        round(
            {{ decimal_ratio(
                'with_previous.cohort_deals_won', 'nullif(with_previous.cohort_deals_created, 0)', 100
            ) }}, 2
        ) as cohort_win_rate_pct,
        round(
            {{ decimal_ratio(
                'with_previous.cohort_reached_and_won', 'nullif(with_previous.cohort_deals_reached, 0)', 100
            ) }}, 2
        ) as cohort_stage_to_won_pct,
        round(
            (
                {{ decimal_ratio(
                    'with_previous.cohort_reached_and_won', 'nullif(with_previous.cohort_deals_reached, 0)'
                ) }}
            )
            / nullif(with_previous.first_stage_to_won_share, 0),
            2
        ) as stage_to_won_vs_first_ratio,
        with_previous.period_deals_entered as period_deals_entered,
        round(
            {{ decimal_ratio(
                'with_previous.period_deals_entered', 'nullif(with_previous.period_entered_previous, 0)', 100
            ) }}, 2
        ) as period_conversion_from_previous_pct,
        round(with_previous.median_days_in_stage, 1) as median_days_in_stage,

        -- dates
        with_previous.period_start as period_start

    from with_previous
    left join stg_bitrix24__deal_categories as pipelines
        on with_previous.pipeline_id = pipelines.category_id

)

select * from final
