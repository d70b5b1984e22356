{#- ClickHouse variants of the adapter-dispatched macros (issue 13). The raw payload is JSON text in
    a String column (ingestion/clickhouse_landing.py), read with the JSON* functions. The session
    settings the models rely on (join_use_nulls, cast_keep_nullable,
    aggregate_functions_null_for_empty) are in profiles.yml, target clickhouse. -#}

{#- A JSON value as Postgres' ->> gives it: strings unquoted, numbers and booleans as their JSON
    text, JSON null and absent keys as NULL; then trimmed, '' as NULL. `path` is the quoted key
    arguments of the JSON* functions ('a' or 'a', 'b' or 'a', 3). -#}
{% macro clickhouse__json_scalar(column, path) -%}
    nullif(trim(multiIf(
        JSONType({{ column }}, {{ path }}) = 'String', JSONExtractString({{ column }}, {{ path }}),
        JSONType({{ column }}, {{ path }}) = 'Null', NULL,
        JSONExtractRaw({{ column }}, {{ path }})
    )), '')
{%- endmacro %}

{% macro clickhouse__json_text(column, key) -%}
    {{ clickhouse__json_scalar(column, "'" ~ key ~ "'") }}
{%- endmacro %}

{% macro clickhouse__json_path_text(column, keys) -%}
    {%- set path = [] -%}
    {%- for key in keys -%}{%- do path.append("'" ~ key ~ "'") -%}{%- endfor -%}
    {{ clickhouse__json_scalar(column, path | join(', ')) }}
{%- endmacro %}

{% macro clickhouse__json_array_item_text(column, key, index) -%}
    (case
        when JSONType({{ column }}, '{{ key }}') = 'Array'
            then {{ clickhouse__json_scalar(column, "'" ~ key ~ "', " ~ (index | int + 1)) }}
    end)
{%- endmacro %}

{% macro clickhouse__json_array_joined_text(column, key) -%}
    nullif(
        case
            when JSONType({{ column }}, '{{ key }}') = 'Array'
                then replaceRegexpAll(JSONExtractRaw({{ column }}, '{{ key }}'), '[\\[\\] "]', '')
            else {{ clickhouse__json_scalar(column, "'" ~ key ~ "'") }}
        end,
        ''
    )
{%- endmacro %}

{#- The raw JSON text under `key` (an array for json_array_join). -#}
{% macro clickhouse__json_path(column, key) -%}
    JSONExtractRaw({{ column }}, '{{ key }}')
{%- endmacro %}

{#- ARRAY JOIN of the elements as a named tuple, so `alias`.element reads as on Postgres; a missing
    or non-array value yields no rows. -#}
{% macro clickhouse__json_array_join(json_expr, alias) -%}
    array join arrayMap(
        json_element -> cast(tuple(json_element), 'Tuple(element String)'),
        JSONExtractArrayRaw({{ json_expr }})
    ) as {{ alias }}
{%- endmacro %}

{% macro clickhouse__to_timestamptz(expression) -%}
    parseDateTime64BestEffortOrNull(nullif(trim({{ expression }}), ''), 6, 'UTC')
{%- endmacro %}

{% macro clickhouse__to_date(expression) -%}
    toDate(parseDateTime64BestEffortOrNull(substring(nullif(trim({{ expression }}), ''), 1, 10), 0, 'UTC'))
{%- endmacro %}

{% macro clickhouse__portal_date(expression) -%}
    toDate(toTimeZone({{ expression }}, '{{ var("portal_timezone") }}'))
{%- endmacro %}

{% macro clickhouse__type_timestamp_tz() -%}
    DateTime64(6, 'UTC')
{%- endmacro %}

{% macro clickhouse__lookback_interval() -%}
    toIntervalMinute({{ var('incremental_lookback_minutes') | int }})
{%- endmacro %}

{#- 1C dates carry no zone: read as UTC wall time, as Postgres' timestamp without time zone. -#}
{% macro clickhouse__onec_timestamp(expr) -%}
    parseDateTime64BestEffortOrNull(nullif({{ expr }}, '0001-01-01T00:00:00'), 0, 'UTC')
{%- endmacro %}

{% macro clickhouse__onec_bool(expr) -%}
    coalesce(cast({{ expr }} as Nullable(Bool)), false)
{%- endmacro %}

{% macro clickhouse__normalize_person_name(expr) -%}
    nullif(lowerUTF8(replaceRegexpAll(trim({{ expr }}), '\\s+', ' ')), '')
{%- endmacro %}

{% macro clickhouse__median(expression) -%}
    quantileExactInclusive(0.5)({{ expression }})
{%- endmacro %}

{% macro clickhouse__bool_or_macro(expr) -%}
    max({{ expr }})
{%- endmacro %}

{% macro clickhouse__stddev_population(expr) -%}
    stddevPop({{ expr }})
{%- endmacro %}

{#- '2025-03', '2025-Q1', '2025-H1', '2025'. -#}
{% macro clickhouse__period_label(grain_col, start_col) -%}
    (case {{ grain_col }}
        when 'month' then formatDateTime({{ start_col }}, '%Y-%m')
        when 'quarter' then concat(formatDateTime({{ start_col }}, '%Y'), '-Q', toString(toQuarter({{ start_col }})))
        when 'half' then concat(formatDateTime({{ start_col }}, '%Y'), '-H', toString(intDiv(toMonth({{ start_col }}), 7) + 1))
        else formatDateTime({{ start_col }}, '%Y')
    end)
{%- endmacro %}

{% macro clickhouse__to_date_suffix_ru(grain_col, last_day_col) -%}
    concat(' (с начала ', case {{ grain_col }}
        when 'month' then 'месяца'
        when 'quarter' then 'квартала'
        when 'half' then 'полугодия'
        else 'года'
    end, ' по ', formatDateTime({{ last_day_col }}, '%d.%m'), ')')
{%- endmacro %}

{#- The bounds may be scalar subqueries (Nullable): arrayJoin over range, not numbers(). -#}
{% macro clickhouse__date_series(start_expr, end_expr) -%}
    select addDays(toDate({{ start_expr }}), toInt32(series.day_offset)) as date_day
    from (
        select arrayJoin(range(toUInt64(greatest(ifNull(
            dateDiff('day', toDate({{ start_expr }}), toDate({{ end_expr }})) + 1, 0), 0)))) as day_offset
    ) as series
{%- endmacro %}

{% macro clickhouse__month_series(start_expr, end_expr) -%}
    select addMonths(toDate({{ start_expr }}), toInt32(series.month_offset)) as month_start
    from (
        select arrayJoin(range(toUInt64(greatest(ifNull(
            dateDiff('month', toDate({{ start_expr }}), toDate({{ end_expr }})) + 1, 0), 0)))) as month_offset
    ) as series
{%- endmacro %}

{% macro clickhouse__integer_series_join(first, last, alias, column) -%}
    cross join (select toInt64(number) as {{ column }} from numbers({{ first }}, {{ last }} - {{ first }} + 1)) as {{ alias }}
{%- endmacro %}

{% macro clickhouse__analyze_table() -%}
    select 1
{%- endmacro %}

{#- Postgres' numeric division keeps ~16 significant decimals; Decimal(28,6) / x keeps 6. The
    numerator is widened to 12 decimals (Decimal(38,12)), so ratios rounded to ≤ 6 places agree. -#}
{% macro clickhouse__safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as Nullable(Decimal(38, 12))) / nullif({{ denominator }}, 0)
{%- endmacro %}

{#- Integer division as in Postgres (rank arithmetic). -#}
{% macro clickhouse__rank_quintile(expr) -%}
    least(5, 1 + coalesce(
        intDiv(5 * (rank() over (order by {{ expr }} asc) - 1), nullif(count(*) over () - 1, 0)), 0
    ))
{%- endmacro %}

{#- Thousands separated by a no-break space, a decimal comma, as default__ru_number's to_char. -#}
{% macro clickhouse__ru_number(expr, decimals) -%}
    {%- set scaled = "toInt64(round(toDecimal128(ifNull(" ~ expr ~ ", 0), 6), " ~ decimals ~ ") * " ~ (10 ** decimals) ~ ")" -%}
    {%- set whole = "toString(intDiv(abs(" ~ scaled ~ "), " ~ (10 ** decimals) ~ "))" -%}
    if(({{ expr }}) is null, NULL, concat(
        if({{ scaled }} < 0, '-', ''),
        arrayStringConcat(arrayMap(
            group_start -> trimLeft(substring(leftPad({{ whole }}, toUInt64(ceil(length({{ whole }}) / 3) * 3), ' '), group_start, 3)),
            range(1, toUInt64(ceil(length({{ whole }}) / 3) * 3) + 1, 3)
        ), ' ')
        {%- if decimals %},
        ',', leftPad(toString(abs({{ scaled }}) % {{ 10 ** decimals }}), {{ decimals }}, '0')
        {%- endif %}
    ))
{%- endmacro %}

{#- Nullable types: a NULL cast to a plain ClickHouse type is an error (or a 0). -#}
{% macro clickhouse__type_string() -%}Nullable(String){%- endmacro %}
{% macro clickhouse__type_int() -%}Nullable(Int64){%- endmacro %}
{#- bigint holds counts in this project (count() is UInt64 on ClickHouse: a union with one must match) -#}
{% macro clickhouse__type_bigint() -%}Nullable(UInt64){%- endmacro %}
{% macro clickhouse__type_numeric() -%}Nullable(Decimal(28, 6)){%- endmacro %}
{% macro clickhouse__type_float() -%}Nullable(Float64){%- endmacro %}

{#- dbt.safe_cast: NULL, not an error, where the value does not fit (ClickHouse evaluates x / NULL
    as x / 0 = inf or NaN in the rows it then discards, and a plain CAST of those fails). A cast to
    a Decimal of scale s rounds at s places, halves away from zero, as PostgreSQL's cast to
    numeric(p, s) does (ClickHouse's own cast truncates: 3.966149999999, the Decimal quotient cut at 12
    places of an exact 3.96615, gave 3.966149 where PostgreSQL has 3.966150): the value goes through
    Decimal(38, 12) and round(). -#}
{% macro clickhouse__safe_cast(field, dtype) -%}
    {%- set inner = dtype[9:-1] if dtype.startswith('Nullable(') else dtype -%}
    {%- set decimal = modules.re.match('^Decimal\\(\\s*\\d+\\s*,\\s*(\\d+)\\s*\\)$', inner) -%}
    {%- if field == 'null' -%}
        CAST(NULL AS Nullable({{ inner }}))
    {%- elif decimal and decimal.group(1) | int <= 12 -%}
        accurateCastOrNull(round(accurateCastOrNull({{ field }}, 'Decimal(38, 12)'), {{ decimal.group(1) }}), '{{ inner }}')
    {%- else -%}
        accurateCastOrNull({{ field }}, '{{ inner | replace("'", "\\'") }}')
    {%- endif -%}
{%- endmacro %}

{% macro clickhouse__integer_divide(numerator, denominator) -%}
    intDiv({{ numerator }}, {{ denominator }})
{%- endmacro %}

{#- Incremental facts (macros/incremental_facts.sql, sales_lines.sql) on ClickHouse. A hook is one
    statement there, so the pre-hook runs its statements itself (run_query) and renders `select 1`;
    the keys to rebuild go to a Memory table next to the fact (not a session temporary table),
    read by the model's filter, then the rows are deleted (lightweight DELETE, mutations_sync). -#}
{% macro clickhouse__fact_keys_table(fact) -%}
    {{ this.schema }}.{{ fact }}__keys_to_rebuild
{%- endmacro %}

{% macro clickhouse__delete_changed_fact_rows(fact) -%}
    {%- set watermark = loaded_watermark() -%}
    {%- if execute and watermark is not none -%}
        {%- set key = fact_key_column(fact) -%}
        {%- set keys = clickhouse__fact_keys_table(fact) -%}
        {%- do run_query('drop table if exists ' ~ keys) -%}
        {%- do run_query('create table ' ~ keys ~ ' engine = Memory as select distinct rebuild.' ~ key ~ ' as ' ~ key
            ~ ' from (' ~ fact_keys_to_rebuild(fact, watermark) ~ ') as rebuild where rebuild.' ~ key ~ ' is not null') -%}
        {%- do run_query('delete from ' ~ this ~ ' where ' ~ key ~ ' in (select ' ~ key ~ ' from ' ~ keys ~ ')') -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{% macro clickhouse__fact_rows_filter(fact) -%}
    {%- set watermark = loaded_watermark() -%}
    {%- if watermark is none -%}
        true
    {%- else -%}
        {%- set key = fact_key_column(fact) -%}
        {{ key }} in (select {{ key }} from {{ clickhouse__fact_keys_table(fact) }})
    {%- endif -%}
{%- endmacro %}

{% macro clickhouse__hook_statements(statements) -%}
    {%- if execute -%}
        {%- for statement in statements -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
