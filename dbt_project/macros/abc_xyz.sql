{#- ABC and XYZ classes per period of int_periods (any grain) as of the period end, over the trailing
    var abc_months months. `monthly` is a relation or CTE with entity_id, month_start, revenue
    (one row per entity and month that has lines; missing months count as zero).
    ABC: revenue descending, tie-break on entity_id ascending; cumulative share of the total
    positive revenue including the entity: A ≤ abc_a_max_share, B ≤ abc_b_max_share, else C;
    revenue ≤ 0 is C. XYZ: population CV of the abc_months monthly revenues (zero-filled):
    X ≤ xyz_x_max_cv, Y ≤ xyz_y_max_cv, else Z (also Z when the mean is ≤ 0). -#}
{% macro abc_xyz_ctes(monthly) -%}
{%- set months = var('abc_months') -%}
window_totals as (

    select
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.period_label,
        {{ monthly }}.entity_id,
        sum({{ monthly }}.revenue) as revenue_t12,
        sum({{ monthly }}.revenue * {{ monthly }}.revenue) as revenue_squares,
        count(*) as months_with_lines
    from {{ ref('int_periods') }} as periods
    inner join {{ monthly }}
        on {{ monthly }}.month_start < periods.period_end
        and {{ monthly }}.month_start >= {{ add_months('periods.period_end', -1 * months) }}
    group by periods.period_grain, periods.period_start, periods.period_end, periods.period_label, {{ monthly }}.entity_id

),

ranked as (

    select
        window_totals.*,
        sum(case when window_totals.revenue_t12 > 0 then window_totals.revenue_t12 else 0 end) over (
            partition by window_totals.period_grain, window_totals.period_start
        ) as total_positive_revenue,
        sum(case when window_totals.revenue_t12 > 0 then window_totals.revenue_t12 else 0 end) over (
            partition by window_totals.period_grain, window_totals.period_start
            order by window_totals.revenue_t12 desc, window_totals.entity_id
            rows between unbounded preceding and current row
        ) as cumulative_revenue,
        row_number() over (
            partition by window_totals.period_grain, window_totals.period_start
            order by window_totals.revenue_t12 desc, window_totals.entity_id
        ) as revenue_rank,
        window_totals.revenue_t12 / {{ months }} as monthly_mean,
        window_totals.revenue_squares / {{ months }}
        - (window_totals.revenue_t12 / {{ months }}) * (window_totals.revenue_t12 / {{ months }}) as monthly_variance
    from window_totals

),

classified as (

    select
        ranked.period_grain,
        ranked.period_start,
        ranked.period_end,
        ranked.period_label,
        ranked.entity_id,
        ranked.revenue_t12,
        ranked.revenue_rank,
        round({{ safe_divide('ranked.revenue_t12', 'ranked.total_positive_revenue') }}, 6) as revenue_share,
        round({{ safe_divide('ranked.cumulative_revenue', 'ranked.total_positive_revenue') }}, 6) as cumulative_share,
        case
            when ranked.revenue_t12 <= 0 then 'C'
            when ranked.cumulative_revenue <= {{ var('abc_a_max_share') }} * ranked.total_positive_revenue then 'A'
            when ranked.cumulative_revenue <= {{ var('abc_b_max_share') }} * ranked.total_positive_revenue then 'B'
            else 'C'
        end as abc_class,
        case
            when ranked.monthly_mean > 0
                then round(sqrt(greatest(ranked.monthly_variance, 0)) / ranked.monthly_mean, 4)
        end as revenue_cv
    from ranked

),

abc_xyz as (

    select
        classified.*,
        case
            when classified.revenue_cv is null then 'Z'
            when classified.revenue_cv <= {{ var('xyz_x_max_cv') }} then 'X'
            when classified.revenue_cv <= {{ var('xyz_y_max_cv') }} then 'Y'
            else 'Z'
        end as xyz_class
    from classified

)
{%- endmacro %}

{#- Monthly revenue of fct_sales_lines per `entity_column` (a column of fct_sales_lines: product_id,
    category, ...) up to as_of_date, in the shape abc_xyz_ctes reads: entity_id, month_start, revenue. -#}
{% macro abc_xyz_monthly_sales(entity_column) -%}
    select
        fct.{{ entity_column }} as entity_id,
        {{ period_start_of('month', 'fct.document_date') }} as month_start,
        sum(fct.revenue) as revenue
    from {{ ref('fct_sales_lines') }} as fct
    where fct.document_date <= {{ as_of_date() }}
    group by fct.{{ entity_column }}, {{ period_start_of('month', 'fct.document_date') }}
{%- endmacro %}

{#- The class and measure columns of an abc_xyz_ctes result `relation`, as every abc_xyz_* mart
    lists them after its period, entity and attribute columns. -#}
{% macro abc_xyz_columns(relation='abc_xyz') -%}
        {{ relation }}.abc_class,
        {{ relation }}.xyz_class,
        {{ dbt.concat([relation ~ '.abc_class', relation ~ '.xyz_class']) }} as abc_xyz_class,
        {{ relation }}.revenue_t12,
        {{ relation }}.revenue_rank,
        {{ relation }}.revenue_share,
        {{ relation }}.cumulative_share,
        {{ relation }}.revenue_cv
{%- endmacro %}
