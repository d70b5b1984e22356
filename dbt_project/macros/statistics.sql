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
