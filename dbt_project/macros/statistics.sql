{#- Post-hook of the incremental facts: give the planner statistics for a table that has none.
    A full build creates the table anew, and an incremental run that follows before autovacuum
    has analyzed it would plan its deletes blind (at 5M sales lines: a sequential scan of the
    fact instead of the onec_document_ref index, a second instead of milliseconds). Later runs
    find statistics and skip it; autovacuum keeps them current. -#}
{% macro analyze_if_never_analyzed() -%}
    {{ return(adapter.dispatch('analyze_if_never_analyzed')()) }}
{%- endmacro %}

{% macro default__analyze_if_never_analyzed() -%}
    select 1
{%- endmacro %}

{% macro postgres__analyze_if_never_analyzed() -%}
    {%- if execute -%}
        {%- set never_analyzed_sql -%}
            select count(*) from pg_stat_user_tables
            where
                relid = to_regclass('{{ this }}')
                and last_analyze is null
                and last_autoanalyze is null
        {%- endset -%}
        {%- set never_analyzed = run_query(never_analyzed_sql).columns[0].values()[0] > 0 -%}
    {%- endif -%}
    {%- if execute and never_analyzed -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Rank-based quintile score 1–5 of `expr` (ascending: the largest values score 5) over the rows
    of the query: 1 + floor(5 × percent_rank), capped at 5. Equal values get equal scores (the
    score of the first of them), never split by an id. -#}
{#- In integers: percent_rank = (rank − 1) / (rows − 1), so the score is
    1 + (5 × (rank − 1)) div (rows − 1), exact at the quintile boundaries. -#}
{% macro rank_quintile(expr) -%}
    {{ return(adapter.dispatch('rank_quintile')(expr)) }}
{%- endmacro %}

{% macro default__rank_quintile(expr) -%}
    least(5, 1 + coalesce(
        (5 * (rank() over (order by {{ expr }} asc) - 1)) / nullif(count(*) over () - 1, 0), 0
    ))
{%- endmacro %}
