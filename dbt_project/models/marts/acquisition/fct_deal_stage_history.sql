{#- One row per stage a deal entered, with when it left it (the next entry of the same deal; an
    entry without a deal has none) and the days spent. Incremental delete+insert
    (macros/incremental_facts.sql): a run rebuilds every entry of the deals with an entry landed or
    marked deleted after the newest source_loaded_at in the table (minus var
    incremental_lookback_minutes) and of the deals fct_deals rebuilds for the same watermark
    (manager, department, client), and every entry when a status or pipeline changed. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='stage_history_id',
    on_schema_change='fail',
    pre_hook=["{{ delete_changed_fact_rows('fct_deal_stage_history') }}"],
    post_hook=["{{ analyze_if_never_analyzed() }}"],
    indexes=postgres_indexes([
        {'columns': ['stage_history_id']},
        {'columns': ['deal_id']},
        {'columns': ['source_loaded_at']},
    ]),
) }}

-- the incremental filter (macro fact_keys_to_rebuild) also reads these models:
-- depends_on: {{ ref('stg_bitrix24__deals') }}
-- depends_on: {{ ref('stg_bitrix24__companies') }}
-- depends_on: {{ ref('stg_bitrix24__requisites') }}
-- depends_on: {{ ref('stg_bitrix24__users') }}
-- depends_on: {{ ref('stg_bitrix24__deal_categories') }}

with

stg_bitrix24__statuses as (

    select * from {{ ref('stg_bitrix24__statuses') }}

),

fct_deals as (

    select * from {{ ref('fct_deals') }}

),

history as (

    select * from {{ ref('stg_bitrix24__deal_stage_history') }}
    where not is_deleted and {{ fact_rows_filter('fct_deal_stage_history') }}

),

stages as (

    select
        statuses.status_id as stage_id,
        statuses.status_name as stage_name,
        statuses.sort_order as stage_sort,
        statuses.semantics,
        coalesce(statuses.category_id, '0') as category_id
    from stg_bitrix24__statuses as statuses
    where
        (statuses.entity_id = 'DEAL_STAGE' or statuses.entity_id like 'DEAL_STAGE\_%')
        and not statuses.is_deleted

),

sequenced as (

    select
        history.*,
        lead(history.entered_at) over (
            partition by history.deal_id, case when history.deal_id is null then history.stage_history_id end
            order by history.entered_at, length(history.stage_history_id), history.stage_history_id
        ) as left_at
    from history

),

final as (

    select
        -- ids
        sequenced.stage_history_id as stage_history_id,
        sequenced.deal_id as deal_id,
        sequenced.category_id as pipeline_id,
        sequenced.stage_id as stage_id,
        deals.manager_id as manager_id,
        deals.department_id as department_id,
        deals.client_id as client_id,

        -- strings
        coalesce(stages.stage_name, sequenced.stage_id) as stage_name,
        case
            when stages.semantics = 'success' then 'won'
            when stages.semantics = 'failure' then 'lost'
            when sequenced.history_type_id = 3 and sequenced.stage_semantic_id = 'S' then 'won'
            when sequenced.history_type_id = 3 and sequenced.stage_semantic_id = 'F' then 'lost'
            else 'in_progress'
        end as stage_semantic,

        -- numerics
        stages.stage_sort as stage_sort,
        sequenced.history_type_id as history_type_id,
        {{ dbt.datediff('sequenced.entered_at', 'sequenced.left_at', 'second') }} / 86400.0  -- noqa: LT05
            as days_in_stage,

        -- dates
        sequenced.entered_at as entered_at,
        sequenced.left_at as left_at,
        {{ portal_date('sequenced.entered_at') }} as entered_date,
        sequenced.loaded_at as source_loaded_at

    from sequenced
    left join stages
        on
            sequenced.category_id = stages.category_id
            and sequenced.stage_id = stages.stage_id
    left join fct_deals as deals
        on sequenced.deal_id = deals.deal_id

)

select * from final
