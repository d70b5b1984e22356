{#- RFM as of as_of_date for every client with a purchase: recency = days since the last
    purchase day, frequency = distinct purchase days and monetary = revenue, both over the
    trailing var rfm_months months. Quintile scores 1–5 (5 best), rank-based so that equal values
    get equal scores (never split by client id): score = 1 + floor(5 × percent_rank), capped at
    5, where percent_rank = (rank − 1) / (clients − 1) and rank is the position of the first of
    the equal values in ascending order (older last purchase, fewer days, less revenue first);
    one client alone scores 1. Named segments with Russian labels. -#}
with

int_clients_attributed as (

    select * from {{ ref('int_clients_attributed') }}

),

lines as (

    select * from {{ ref('fct_sales_lines') }}
    where document_date <= {{ as_of_date() }}

),

per_client as (

    select
        lines.client_id,
        max(case when lines.line_kind = 'sale' then lines.document_date end) as last_purchase_date,
        count(distinct case
            when
                lines.line_kind = 'sale'
                and lines.document_date > {{ add_months(as_of_date(), -1 * var('rfm_months')) }}
                then lines.document_date
        end) as frequency,
        sum(case
            when lines.document_date > {{ add_months(as_of_date(), -1 * var('rfm_months')) }} then lines.revenue else 0
        end) as monetary
    from lines
    group by lines.client_id

),

scored as (

    select
        per_client.client_id,
        per_client.last_purchase_date,
        {{ dbt.datediff('per_client.last_purchase_date', as_of_date(), 'day') }}
            as recency_days,
        per_client.frequency,
        per_client.monetary,
        {{ rank_quintile('per_client.last_purchase_date') }} as r_score,
        {{ rank_quintile('per_client.frequency') }} as f_score,
        {{ rank_quintile('per_client.monetary') }} as m_score
    from per_client
    where per_client.last_purchase_date is not null

),

segmented as (

    select
        scored.*,
        case
            when scored.r_score >= 4 and scored.f_score >= 4 then 'Champions'
            when scored.r_score >= 3 and scored.f_score >= 4 then 'Loyal'
            when scored.r_score = 5 and scored.f_score <= 1 then 'New'
            when scored.r_score >= 4 and scored.f_score <= 3 then 'Potential loyalists'
            when scored.r_score <= 2 and scored.f_score >= 4 then 'Cannot lose them'
            when scored.r_score <= 2 and scored.f_score >= 2 then 'At risk'
            when scored.r_score = 1 and scored.f_score <= 1 then 'Lost'
            when scored.r_score = 2 and scored.f_score <= 1 then 'Hibernating'
            else 'Need attention'
        end as rfm_segment
    from scored

)

select
    segmented.client_id as client_id,
    clients.manager_id as manager_id,
    clients.department_id as department_id,
    clients.region as region,
    clients.channel as channel,
    segmented.last_purchase_date as last_purchase_date,
    segmented.recency_days as recency_days,
    segmented.frequency as frequency,
    segmented.monetary as monetary,
    segmented.r_score as r_score,
    segmented.f_score as f_score,
    segmented.m_score as m_score,
    {{ dbt.concat([
        dbt.safe_cast('segmented.r_score', dbt.type_string()),
        dbt.safe_cast('segmented.f_score', dbt.type_string()),
        dbt.safe_cast('segmented.m_score', dbt.type_string()),
    ]) }} as rfm_code,
    segmented.rfm_segment as rfm_segment,
    case segmented.rfm_segment
        when 'Champions' then 'Чемпионы'
        when 'Loyal' then 'Лояльные'
        when 'New' then 'Новые'
        when 'Potential loyalists' then 'Потенциально лояльные'
        when 'Cannot lose them' then 'Нельзя потерять'
        when 'At risk' then 'В зоне риска'
        when 'Lost' then 'Потерянные'
        when 'Hibernating' then 'Спящие'
        else 'Требуют внимания'
    end as rfm_segment_ru
from segmented
left join int_clients_attributed as clients
    on segmented.client_id = clients.client_id
