{#- NPS per department and period (month, quarter, year), plus the whole company, with the
    adjusted-Wald 95% interval: n' = n + 3, p' = (promoters + 0.75) / n',
    d' = (detractors + 0.75) / n', NPS' = p' - d', var = (p' + d' - (p' - d')^2) / n',
    interval NPS' +- 1.96 * sqrt(var). Values in percentage points. -#}
with

answers as (

    select * from {{ ref('fct_nps_answers') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

answers_in_periods as (

    select
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        periods.period_label as period_label,
        answers.department_name as department_name,
        answers.department_id as department_id,
        answers.is_promoter as is_promoter,
        answers.is_detractor as is_detractor
    from answers
    inner join periods
        on
            answers.answered_on >= periods.period_start
            and answers.answered_on < periods.period_end

),

counted as (

    select
        period_grain,
        period_start,
        period_label,
        'department' as nps_level,
        department_name,
        min(department_id) as department_id,
        count(*) as answers,
        sum(case when is_promoter then 1 else 0 end) as promoters,
        sum(case when is_detractor then 1 else 0 end) as detractors
    from answers_in_periods
    group by period_grain, period_start, period_label, department_name

    union all

    select
        period_grain,
        period_start,
        period_label,
        'company' as nps_level,
        'Вся компания' as department_name,
        cast(null as {{ dbt.type_string() }}) as department_id,
        count(*) as answers,
        sum(case when is_promoter then 1 else 0 end) as promoters,
        sum(case when is_detractor then 1 else 0 end) as detractors
    from answers_in_periods
    group by period_grain, period_start, period_label

),

adjusted as (

    select
        counted.*,
        (counted.promoters + 0.75) / (counted.answers + 3.0) as promoter_share_adjusted,
        (counted.detractors + 0.75) / (counted.answers + 3.0) as detractor_share_adjusted
    from counted

),

final as (

    select
        -- ids
        {{ dbt.concat([
            'adjusted.period_grain', "'|'", 'adjusted.period_label', "'|'", 'adjusted.nps_level', "'|'",
            'adjusted.department_name',
        ]) }} as nps_row_id,
        adjusted.department_id,

        -- strings
        adjusted.period_grain,
        adjusted.period_label,
        adjusted.nps_level,
        adjusted.department_name,

        -- numerics
        adjusted.answers,
        adjusted.promoters,
        adjusted.detractors,
        adjusted.answers - adjusted.promoters - adjusted.detractors as passives,
        round({{ decimal_ratio('adjusted.promoters', 'adjusted.answers', 100) }}, 2) as promoter_pct,
        round({{ decimal_ratio('adjusted.detractors', 'adjusted.answers', 100) }}, 2) as detractor_pct,
        round({{ decimal_ratio('(adjusted.promoters - adjusted.detractors)', 'adjusted.answers', 100) }}, 2) as nps,
        round(100 * (adjusted.promoter_share_adjusted - adjusted.detractor_share_adjusted), 2) as nps_adjusted,
        round(100 * (
            adjusted.promoter_share_adjusted - adjusted.detractor_share_adjusted
            - 1.96 * sqrt(
                (
                    adjusted.promoter_share_adjusted + adjusted.detractor_share_adjusted
                    - power(adjusted.promoter_share_adjusted - adjusted.detractor_share_adjusted, 2)
                ) / (adjusted.answers + 3.0)
            )
        ), 2) as nps_ci_low,
        round(100 * (
            adjusted.promoter_share_adjusted - adjusted.detractor_share_adjusted
            + 1.96 * sqrt(
                (
                    adjusted.promoter_share_adjusted + adjusted.detractor_share_adjusted
                    - power(adjusted.promoter_share_adjusted - adjusted.detractor_share_adjusted, 2)
                ) / (adjusted.answers + 3.0)
            )
        ), 2) as nps_ci_high,

        -- booleans
        adjusted.answers < {{ var('nps_min_answers') }} as is_below_min_answers,

        -- labels
        case when adjusted.answers < {{ var('nps_min_answers') }} then 'Да' else 'Нет' end as below_min_answers_label,

        -- dates
        adjusted.period_start

    from adjusted

)

select * from final
