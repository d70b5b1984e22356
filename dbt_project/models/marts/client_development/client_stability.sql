{#- Stability type of each client per period P against the comparison base B
    (var stability_base: 'sply' = same period last year, 'previous' = the period before,
    'avg_k' = the average of the var stability_avg_k previous periods). Rules, in order:
    new (first purchase ever in P); one-off (no purchase in P, bought in B, exactly one
    purchase day ever up to the end of P); lost (no purchase in P, bought in B);
    returned (bought in P, not in B, first purchase before B); growing (revenue P ≥ B × (1 +
    stability_change_pct)); falling (P ≤ B × (1 − stability_change_pct)); stable otherwise.
    No base: when B ends on or before the month of the company's first data (int_periods.
    data_start_month: B lies wholly before the first data), none of the comparisons applies: a client that bought in P (not for the
    first time ever) is 'no-base' («нет базы»), never growing; one that did not has no row.
    Clients that bought neither in P nor in B have no row. With var compare_periods, the grain
    'custom' compares its current period P with its base period B whatever stability_base says
    (no base: every buyer is 'no-base' or 'new'). Sparse: built from the rows of
    client_period_revenue (periods with lines), each counted for its own period and for the
    periods it is the base of, so the cost follows those rows, not clients × periods.
    Like for like (docs/kpi.md, «Period»): P unfinished (it holds as_of_date, is_period_to_date)
    counts up to as_of_date, and its base is the same elapsed part of each base period (macro
    to_date_end_shifted), summed from the sales lines of those few windows (one per grain and
    base period) instead of the whole base periods' rows. -#}
{%- set base = var('stability_base') -%}
{%- if base not in ['sply', 'previous', 'avg_k'] -%}
    {{ exceptions.raise_compiler_error(
        "var stability_base must be 'sply', 'previous' or 'avg_k', got '" ~ base ~ "'"
    ) }}
{%- endif -%}
{%- set k = var('stability_avg_k') | int -%}
{%- set change = var('stability_change_pct') -%}
{%- set pair = compare_periods() -%}
{%- if base == 'sply' -%}
    {%- set base_offsets = ['12'] -%}
{%- elif base == 'previous' -%}
    {%- set base_offsets = [period_months_of('base_row.period_grain')] -%}
{%- else -%}
    {%- set base_offsets = [] -%}
    {%- for j in range(1, k + 1) -%}
        {%- do base_offsets.append(j ~ ' * ' ~ period_months_of('base_row.period_grain')) -%}
    {%- endfor -%}
{%- endif -%}
with

int_clients_attributed as (

    select * from {{ ref('int_clients_attributed') }}

),

int_periods as (

    select * from {{ ref('int_periods') }}

),

revenue as (

    select * from {{ ref('client_period_revenue') }}

),

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

calendar_periods as (

    select
        period.*,
        {%- if base == 'sply' %}
            period.sply_period_start as base_start,
            period.sply_to_date_end as base_end,
            1 as base_periods,
            {{ period_label('period.period_grain', 'period.sply_period_start') }} || case
                when period.is_period_to_date
                    then {{ to_date_suffix_ru('period.period_grain', add_days('period.sply_to_date_end', -1)) }}
                else ''
            end as base_label_ru
        {%- elif base == 'previous' %}
        period.prev_period_start as base_start,
        period.prev_to_date_end as base_end,
        1 as base_periods,
        {{ period_label('period.period_grain', 'period.prev_period_start') }} || case
            when period.is_period_to_date
                then {{ to_date_suffix_ru('period.period_grain', add_days('period.prev_to_date_end', -1)) }}
            else ''
        end as base_label_ru
        {%- else %}
        {{ add_months(
            'period.period_start', '-' ~ k ~ ' * ' ~ period_months_of('period.period_grain')
        ) }} as base_start,
        period.prev_to_date_end as base_end,
        {{ k }} as base_periods,
        'среднее {{ k }} предыдущих периодов' || case
            when period.is_period_to_date then ' (те же дни с начала периода)' else ''
        end as base_label_ru
        {%- endif %}
    from int_periods as period

),

{# the base windows of the unfinished periods (one per grain and base period j): the first
    elapsed part of the base period, [its start, the shifted as_of_date end) #}
to_date_windows as (

    {%- for offset in base_offsets %}
        select
            period.period_grain,
            period.period_start,
            {{ add_months('period.period_start', '-1 * (' ~ offset.replace('base_row.', 'period.') ~ ')') }}
                as window_start,
            {{ to_date_end_shifted(as_of_date(), offset.replace('base_row.', 'period.')) }} as window_end
        from int_periods as period
        where period.is_period_to_date
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

to_date_lines as (

    select
        sales_line.client_id,
        sales_line.document_date,
        sales_line.line_kind,
        sales_line.revenue
    from fct_sales_lines as sales_line
    where sales_line.document_date >= (select min(to_date_windows.window_start) from to_date_windows)

),

client_firsts as (

    select distinct
        revenue.client_id,
        revenue.first_purchase_date
    from revenue
    where revenue.period_grain = 'year'

),

{# per unfinished period, window and client: the revenue and purchase days of the base window #}
to_date_base as (

    select
        to_date_windows.period_grain as period_grain,
        to_date_windows.period_start as period_start,
        to_date_windows.window_start as window_start,
        to_date_lines.client_id as client_id,
        sum(to_date_lines.revenue) as revenue,
        count(distinct case when to_date_lines.line_kind = 'sale' then to_date_lines.document_date end)
            as purchase_days
    from to_date_lines
    inner join to_date_windows
        on
            to_date_lines.document_date >= to_date_windows.window_start
            and to_date_lines.document_date < to_date_windows.window_end
    group by
        to_date_windows.period_grain, to_date_windows.period_start, to_date_windows.window_start,
        to_date_lines.client_id

),

periods as (

    select * from calendar_periods
    {%- if pair is not none %}
    where calendar_periods.period_grain != 'custom'

    union all

    {# the custom pair: its current period only, against its base period #}
    select
        period.*,
        {{ pair.base_start or 'cast(null as date)' }} as base_start,
        {{ pair.base_end or 'cast(null as date)' }} as base_end,
        1 as base_periods,
        {{ "'" ~ pair.base_label ~ "'" if pair.base_label else "'нет базы сравнения'" }} as base_label_ru
    from int_periods as period
    where period.period_grain = 'custom' and period.period_start = {{ pair.current_start }}
    {%- endif %}

),

{# the month rows give each client's purchase days to date: the first month in which its
    running count of purchase days reaches 1 and 2 #}
purchase_day_months as (

    select
        monthly.client_id,
        monthly.period_start,
        monthly.purchase_days,
        sum(monthly.purchase_days) over (
            partition by monthly.client_id
            order by monthly.period_start
            rows between unbounded preceding and current row
        ) as purchase_days_running
    from revenue as monthly
    where monthly.period_grain = 'month' and monthly.purchase_days > 0

),

purchase_day_marks as (

    select
        purchase_day_months.client_id,
        min(purchase_day_months.period_start) as first_purchase_month,
        min(case when purchase_day_months.purchase_days_running >= 2 then purchase_day_months.period_start end)
            as second_purchase_month
    from purchase_day_months
    group by purchase_day_months.client_id

),

{# each sparse row counts for its own period (P) and as the base of the periods it is the
    base of (equality keys: its start plus the base offsets), so only clients that bought in P
    or in B get a row #}
contributions as (

    select
        current_row.period_grain,
        current_row.period_start,
        current_row.client_id,
        current_row.manager_id,
        current_row.department_id,
        current_row.region,
        current_row.channel,
        current_row.first_purchase_date,
        current_row.is_first_purchase_period,
        current_row.revenue as revenue_period,
        current_row.purchase_days as purchase_days_period,
        0 as revenue_base,
        0 as purchase_days_base
    from revenue as current_row
    {%- for offset in base_offsets %}
        {#- the custom pair's base period counts for its current period (in the first branch only) #}
        {%- set shifted = add_months('base_row.period_start', offset) -%}
        {%- if pair is not none and loop.first -%}
            {%- set shifted = "case when base_row.period_grain != 'custom' then " ~ shifted
                ~ (" when base_row.period_start = " ~ pair.base_start ~ " then " ~ pair.current_start if pair.base_start else "")
                ~ " end" -%}
        {%- endif %}
        union all
        select
            base_row.period_grain as period_grain,
            {{ shifted }} as period_start,
            base_row.client_id as client_id,
            base_row.manager_id as manager_id,
            base_row.department_id as department_id,
            base_row.region as region,
            base_row.channel as channel,
            base_row.first_purchase_date as first_purchase_date,
            false as is_first_purchase_period,
            0 as revenue_period,
            0 as purchase_days_period,
            base_row.revenue as revenue_base,
            base_row.purchase_days as purchase_days_base
        {#- an unfinished period takes its base from to_date_base instead of whole base periods #}
        from revenue as base_row
        left join to_date_windows as unfinished
            on
                base_row.period_grain = unfinished.period_grain
                and {{ add_months('base_row.period_start', offset) }} = unfinished.period_start
        where unfinished.period_start is null
        {%- if pair is not none and not loop.first %}
            and base_row.period_grain != 'custom'
        {%- endif %}
    {%- endfor %}
    union all
    select
        to_date_base.period_grain as period_grain,
        to_date_base.period_start as period_start,
        to_date_base.client_id as client_id,
        clients.manager_id as manager_id,
        clients.department_id as department_id,
        clients.region as region,
        clients.channel as channel,
        client_firsts.first_purchase_date as first_purchase_date,
        false as is_first_purchase_period,
        0 as revenue_period,
        0 as purchase_days_period,
        to_date_base.revenue as revenue_base,
        to_date_base.purchase_days as purchase_days_base
    from to_date_base
    left join int_clients_attributed as clients
        on to_date_base.client_id = clients.client_id
    left join client_firsts
        on to_date_base.client_id = client_firsts.client_id

),

combined as (

    select
        contributions.period_grain,
        contributions.period_start,
        contributions.client_id,
        max(contributions.manager_id) as manager_id,
        max(contributions.department_id) as department_id,
        max(contributions.region) as region,
        max(contributions.channel) as channel,
        max(contributions.first_purchase_date) as first_purchase_date,
        {{ dbt.bool_or('contributions.is_first_purchase_period') }} as is_first_purchase_period,
        sum(contributions.revenue_period) as revenue_period,
        sum(contributions.purchase_days_period) as purchase_days_period,
        sum(contributions.revenue_base) as revenue_base,
        sum(contributions.purchase_days_base) as purchase_days_base
    from contributions
    group by contributions.period_grain, contributions.period_start, contributions.client_id

),

compared as (

    select
        combined.period_grain as period_grain,
        combined.period_start as period_start,
        periods.period_label as period_label,
        periods.period_label_ru as period_label_ru,
        periods.is_period_to_date as is_period_to_date,
        periods.base_label_ru as base_label_ru,
        combined.client_id as client_id,
        combined.manager_id as manager_id,
        combined.department_id as department_id,
        combined.region as region,
        combined.channel as channel,
        periods.base_start as base_start,
        combined.first_purchase_date as first_purchase_date,
        combined.revenue_period as revenue_period,
        combined.purchase_days_period as purchase_days_period,
        combined.purchase_days_base as purchase_days_base,
        coalesce(
            periods.base_end > periods.data_start_month,
            {{ "periods.period_grain != 'custom'" if pair is not none else 'true' }}
        ) as has_base,
        coalesce(
            marks.first_purchase_month < periods.period_end
            and not coalesce(marks.second_purchase_month < periods.period_end, false),
            false
        ) as has_one_purchase_day_to_date,
        coalesce(combined.is_first_purchase_period, false) as is_first_purchase_period,
        round(combined.revenue_base / periods.base_periods, 2) as revenue_base
    from combined
    inner join periods
        on
            combined.period_grain = periods.period_grain
            and combined.period_start = periods.period_start
    left join purchase_day_marks as marks
        on combined.client_id = marks.client_id

),

typed as (

    select
        compared.*,
        case
            when compared.is_first_purchase_period then 'new'
            when not compared.has_base and compared.purchase_days_period > 0 then 'no-base'
            when not compared.has_base then null
            when
                compared.purchase_days_period = 0
                and compared.purchase_days_base > 0
                and compared.has_one_purchase_day_to_date
                then 'one-off'
            when compared.purchase_days_period = 0 and compared.purchase_days_base > 0 then 'lost'
            when compared.purchase_days_period = 0 then null
            when compared.purchase_days_base = 0 and compared.first_purchase_date < compared.base_start then 'returned'
            when compared.revenue_period >= compared.revenue_base * (1 + {{ change }}) then 'growing'
            when compared.revenue_period <= compared.revenue_base * (1 - {{ change }}) then 'falling'
            else 'stable'
        end as stability_type
    from compared

)

select
    typed.period_grain,
    typed.period_start,
    typed.period_label,
    typed.period_label_ru,
    typed.is_period_to_date,
    typed.client_id,
    typed.manager_id,
    typed.department_id,
    typed.region,
    typed.channel,
    typed.stability_type,
    case typed.stability_type
        when 'new' then 'новый'
        when 'returned' then 'возвращенный'
        when 'lost' then 'потерянный'
        when 'growing' then 'растущий'
        when 'falling' then 'падающий'
        when 'stable' then 'стабильный'
        when 'one-off' then 'разовый'
        when 'no-base' then 'нет базы'
    end as stability_type_ru,
    '{{ base }}' as comparison_base,
    typed.base_label_ru,
    typed.revenue_period,
    typed.revenue_base,
    typed.purchase_days_period,
    typed.purchase_days_base,
    typed.first_purchase_date
from typed
where typed.stability_type is not null
