{#- The ranked action list per manager (сделать сейчас): candidates ordered by revenue at stake,
    then by action priority (retain > falling > overdue > lost > assortment > attract), then by
    action_key, so the order is deterministic. action_rank 1 is the first thing to do. -#}
with

candidates as (

    select * from {{ ref('next_best_action_candidates') }}
    where revenue_at_stake > 0

),

ranked as (

    select
        candidates.*,
        row_number() over (
            partition by candidates.manager_id
            order by candidates.revenue_at_stake desc, candidates.action_priority asc, candidates.action_key asc
        ) as action_rank
    from candidates

),

final as (

    select
        -- ids
        action_key,
        manager_id,
        department_id,
        client_id,
        bitrix24_company_id,

        -- strings
        action_type,
        action_type_ru,
        {{ dbt.concat(['action_type_ru', "': '", 'client_name']) }} as action_title,
        client_name,
        reason,
        manager_name,
        department_name,
        region,
        channel,
        segment,

        -- numerics
        action_rank,
        revenue_at_stake,

        -- dates
        as_of_date

    from ranked

)

select * from final
