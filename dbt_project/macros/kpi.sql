{#- one select list covering every column of `columns`, taking the expression from
    `expressions` (a dict column -> SQL) and 0 for the columns it does not provide, so that
    component CTEs can be combined with union all. -#}
{% macro measure_list(columns, expressions) -%}
    {%- for column in columns %}
        {{ expressions.get(column, '0') }} as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- `columns` as a comma-separated list, qualified with `relation` when given: the same
    grain in a select list and its group by. -#}
{% macro column_list(columns, relation=none) -%}
    {%- for column in columns -%}
        {{ relation ~ '.' if relation }}{{ column }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- the body of one component CTE of kpi_components: per period and manager_id of
    `relation` (a CTE), the measures `expressions` over `columns` (measure_list). With
    date_column, each row is placed in its period of every grain (macro rows_per_grain) and
    matched by equality to the period of the model's `periods` CTE whose start_column is that
    period's start (the period itself, or the same period last year), so the cost follows the
    rows, never rows × periods; the rows must also lie before periods.end_column, which cuts an
    unfinished period and its bases to the same elapsed part (like for like: to_date_end,
    sply_to_date_end). Without date_column the rows already carry period_grain and
    period_start. `where` filters the rows. -#}
{% macro kpi_component(relation, columns, expressions, date_column=none, start_column='period_start',
                         end_column='period_end', where=none) -%}
    {%- set period = 'periods' if date_column else relation -%}
    select
        {{ period }}.period_grain as period_grain,
        {{ period }}.period_start as period_start,
        {{ relation }}.manager_id as manager_id,{{ measure_list(columns, expressions) }}
    {%- if date_column %}
    from (
        {{ rows_per_grain(relation, relation ~ '.' ~ date_column, [relation ~ '.*']) | indent(4) }}
    ) as {{ relation }}
    inner join periods
        on
            {{ relation }}.period_grain = periods.period_grain
            and {{ relation }}.period_start = periods.{{ start_column }}
            and {{ relation }}.{{ date_column }} < periods.{{ end_column }}
    {%- else %}
    from {{ relation }}
    {%- endif %}
    {%- if where %}
    where {{ where }}
    {%- endif %}
    group by {{ period }}.period_grain, {{ period }}.period_start, {{ relation }}.manager_id
{%- endmacro %}

{#- Funnel: the rows of `relation` (a CTE with period_grain, period_start, pipeline_id,
    manager_id, department_id) once per funnel_level: 'company' (manager_id and department_id
    null), 'department' (manager_id null) and 'manager'; rows without a department count for the
    company only. `columns` are the further columns of `relation` carried along. -#}
{% macro funnel_levels(relation, columns) -%}
    {%- set no_id = "cast(null as " ~ dbt.type_string() ~ ")" -%}
    {%- set levels = {
        'company': (no_id, no_id),
        'department': (no_id, relation ~ '.department_id'),
        'manager': (relation ~ '.manager_id', relation ~ '.department_id'),
    } -%}
    {%- for level, (manager_expr, department_expr) in levels.items() %}
        select
            '{{ level }}' as funnel_level,
            {{ relation }}.period_grain,
            {{ relation }}.period_start,
            {{ relation }}.pipeline_id,
            {{ manager_expr }} as manager_id,
            {{ department_expr }} as department_id,
            {%- for column in columns %}
            {{ relation }}.{{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ relation }}
        {%- if level != 'company' %}
        where {{ relation }}.department_id is not null
        {%- endif %}
        {%- if not loop.last %}
        union all
        {%- endif %}
    {%- endfor %}
{%- endmacro %}
