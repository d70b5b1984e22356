{#- ABC and XYZ classes per period of int_periods (any grain) as of the period end, over the trailing
    var abc_months months. `monthly` is a relation or CTE with entity_id, month_start, revenue
    (one row per entity and month that has lines; missing months count as zero).
    ABC: revenue descending, tie-break on entity_id ascending; cumulative share of the total
    positive revenue including the entity: A ≤ abc_a_max_share, B ≤ abc_b_max_share, else C;
    revenue ≤ 0 is C. XYZ: population CV of the abc_months monthly revenues (zero-filled):
    X ≤ xyz_x_max_cv, Y ≤ xyz_y_max_cv, else Z (also Z when the mean is ≤ 0).
    Every month row is added to the abc_months window ends after it by an equality key (cost:
    monthly rows × abc_months), and the classes are ranked once per window end, then given to
    every period (of any grain) ending there. An unfinished period (holding as_of_date) takes
    the classes as of as_of_date: the window ending with as_of_date's month
    (int_periods.class_window_end), not with its future end, so its matrix and trend compare
    like for like with the complete periods (docs/kpi.md, «Period»). Entities are those with a month row in the
    window; with `entities` (a relation or CTE with entity_id, first_month), every entity whose
    first_month is before the window end is also classed (revenue 0: C, Z). `periods`: the model's
    import CTE of int_periods (the macro reads no model itself). -#}
{% macro abc_xyz_ctes(monthly, entities=none, periods='int_periods') -%}
{%- set months = var('abc_months') -%}
window_ends as (

    select distinct periods.class_window_end as period_end from {{ periods }} as periods

),

{#- the abc_months months of each window end (a few hundred rows), joined to the month rows by
    equality: the date arithmetic runs per window end, not per month row #}
window_months as (

    select
        window_ends.period_end as period_end,
        {{ add_months('window_ends.period_end', '-window_offsets.months_after') }} as month_start
    from window_ends
    {{ integer_series_join(1, months, 'window_offsets', 'months_after') }}

),

window_rows as (

    select
        window_months.period_end as period_end,
        {{ monthly }}.entity_id as entity_id,
        {{ monthly }}.revenue as revenue
    from {{ monthly }}
    inner join window_months
        on {{ monthly }}.month_start = window_months.month_start

),

window_totals as (

    select
        window_rows.period_end,
        window_rows.entity_id,
        sum(window_rows.revenue) as revenue_t12,
        sum(window_rows.revenue * window_rows.revenue) as revenue_squares
    from (
        select * from window_rows
        {%- if entities is not none %}
            union all
            select
                window_ends.period_end as period_end,
                {{ entities }}.entity_id as entity_id,
                0 as revenue
            from window_ends
            inner join {{ entities }}
                on {{ entities }}.first_month < window_ends.period_end
        {%- endif %}
    ) as window_rows
    group by window_rows.period_end, window_rows.entity_id

),

ranked as (

    select
        window_totals.*,
        sum(case when window_totals.revenue_t12 > 0 then window_totals.revenue_t12 else 0 end) over (
            partition by window_totals.period_end
        ) as total_positive_revenue,
        sum(case when window_totals.revenue_t12 > 0 then window_totals.revenue_t12 else 0 end) over (
            partition by window_totals.period_end
            order by window_totals.revenue_t12 desc, window_totals.entity_id
            rows between unbounded preceding and current row
        ) as cumulative_revenue,
        row_number() over (
            partition by window_totals.period_end
            order by window_totals.revenue_t12 desc, window_totals.entity_id
        ) as revenue_rank,
        {#- the CV here, once per window end, not in `classified`: that CTE is merged into the
            join with the periods, where the numeric sqrt ran once per period (1.7x the rows) #}
        {%- set mean = '(window_totals.revenue_t12 / ' ~ months ~ ')' %}
        case
            when {{ mean }} > 0
                then round(
                    sqrt(greatest(window_totals.revenue_squares / {{ months }} - {{ mean }} * {{ mean }}, 0))
                    / {{ mean }},
                    4
                )
        end as revenue_cv
    from window_totals

),

classified as (

    select
        ranked.period_end,
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
        ranked.revenue_cv
    from ranked

),

abc_xyz as (

    select
        periods.period_grain as period_grain,
        periods.period_start as period_start,
        periods.period_label as period_label,
        classified.*,
        case
            when classified.revenue_cv is null then 'Z'
            when classified.revenue_cv <= {{ var('xyz_x_max_cv') }} then 'X'
            when classified.revenue_cv <= {{ var('xyz_y_max_cv') }} then 'Y'
            else 'Z'
        end as xyz_class
    from classified
    inner join {{ periods }} as periods
        on classified.period_end = periods.class_window_end

)
{%- endmacro %}

{#- Monthly revenue of fct_sales_lines per `entity_column` (a column of fct_sales_lines: product_id,
    category, ...) up to as_of_date, in the shape abc_xyz_ctes reads: entity_id, month_start, revenue.
    `sales_lines`: the model's import CTE of fct_sales_lines. -#}
{% macro abc_xyz_monthly_sales(entity_column, sales_lines='fct_sales_lines') -%}
    select
        fct.{{ entity_column }} as entity_id,
        {{ period_start_of('month', 'fct.document_date') }} as month_start,
        sum(fct.revenue) as revenue
    from {{ sales_lines }} as fct
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
