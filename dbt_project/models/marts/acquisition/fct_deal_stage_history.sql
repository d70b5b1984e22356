{#- One row per stage a deal entered, with when it left it (the next entry) and the days spent. -#}
with

history as (

    select * from {{ ref('stg_bitrix24__deal_stage_history') }}
    where not is_deleted

),

stages as (

    select
        statuses.status_id as stage_id,
        statuses.status_name as stage_name,
        statuses.sort_order as stage_sort,
        statuses.semantics,
        coalesce(statuses.category_id, '0') as category_id
    from {{ ref('stg_bitrix24__statuses') }} as statuses
    where
        (statuses.entity_id = 'DEAL_STAGE' or statuses.entity_id like 'DEAL_STAGE\_%')
        and not statuses.is_deleted

),

sequenced as (

    select
        history.*,
        lead(history.entered_at) over (
            partition by history.deal_id
            order by history.entered_at, length(history.stage_history_id), history.stage_history_id
        ) as left_at
    from history

),

final as (

    select
        -- ids
        sequenced.stage_history_id,
        sequenced.deal_id,
        sequenced.category_id as pipeline_id,
        sequenced.stage_id,
        deals.manager_id,
        deals.department_id,
        deals.client_id,

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
        stages.stage_sort,
        sequenced.history_type_id,
        {{ dbt.datediff('sequenced.entered_at', 'sequenced.left_at', 'second') }} / 86400.0  -- noqa: LT05
            as days_in_stage,

        -- dates
        sequenced.entered_at,
        sequenced.left_at,
        {{ b_portal_date('sequenced.entered_at') }} as entered_date

    from sequenced
    left join stages
        on
            sequenced.category_id = stages.category_id
            and sequenced.stage_id = stages.stage_id
    left join {{ ref('fct_deals') }} as deals
        on sequenced.deal_id = deals.deal_id

)

select * from final
