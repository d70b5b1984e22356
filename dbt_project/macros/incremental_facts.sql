{#- Incremental Bitrix24 facts (fct_deals, fct_leads, fct_deal_stage_history, fct_activities).

    Each is delete+insert: on an incremental run, with `watermark` = the newest source_loaded_at
    in the fact minus var incremental_lookback_minutes (macro loaded_watermark), the pre-hook
    `delete_changed_fact_rows` puts the keys given by `fact_keys_to_rebuild` in a temporary table,
    deletes those rows, and the model inserts the current rows with the same keys. A row is rebuilt when, after the
    watermark, its own raw row was landed or marked deleted, or a raw row it is joined to was:
    its company or that company's requisites (client_id via int_client_identity), its responsible
    user (department_id via dim_managers), or any row of the dictionaries it reads (statuses,
    deal pipelines: then every row). A stage-history row is rebuilt with every row of its deal,
    because the deal's next entry decides when it left the stage. The landing rewrites
    `_loaded_at` only when a payload changes (or a deleted row comes back), so re-landed unchanged
    rows cost nothing. Not covered (need --full-refresh): a change of var portal_timezone or
    bitrix24_portal_url, and a requisite re-attached from one company to another (the old company
    is not in the changed row). -#}

{#- A select of the keys `key_column` of `relation` (a staging model with loaded_at and
    deleted_at) to rebuild: rows changed after `watermark`, rows whose `lookups` (dicts: column of
    `relation`, staging relation, its key column) changed after it, and every row when one of the
    `dictionaries` (staging relations) changed after it. -#}
{% macro changed_fact_keys(key_column, relation, watermark, lookups=[], dictionaries=[]) -%}
    select changed.{{ key_column }} from {{ relation }} as changed
    where {{ staging_changed_since(watermark) }}
    {%- for lookup in lookups %}
    union all
    select looked_up.{{ key_column }} from {{ relation }} as looked_up
    where looked_up.{{ lookup.column }} in (
        select {{ lookup.key }} from {{ lookup.relation }} where {{ staging_changed_since(watermark) }}
    )
    {%- endfor %}
    {%- if dictionaries %}
    union all
    select every_row.{{ key_column }} from {{ relation }} as every_row
    where
        {%- for dictionary in dictionaries %}
        {% if not loop.first %}or {% endif %}exists (
            select 1 from {{ dictionary }} where {{ staging_changed_since(watermark) }}
        )
        {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- What a CRM record's client_id and department_id are read from: its company (identity from the
    company and its requisites) and its responsible user. -#}
{% macro bitrix24_owner_lookups(company_column, user_column) -%}
    {%- set lookups = [] -%}
    {%- if company_column -%}
        {%- do lookups.append({'column': company_column, 'relation': ref('stg_bitrix24__companies'), 'key': 'company_id'}) -%}
        {%- do lookups.append({'column': company_column, 'relation': ref('stg_bitrix24__requisites'), 'key': 'company_id'}) -%}
    {%- endif -%}
    {%- do lookups.append({'column': user_column, 'relation': ref('stg_bitrix24__users'), 'key': 'user_id'}) -%}
    {{ return(lookups) }}
{%- endmacro %}

{% macro changed_deal_ids(watermark) -%}
    {{ changed_fact_keys(
        'deal_id', ref('stg_bitrix24__deals'), watermark,
        lookups=bitrix24_owner_lookups('company_id', 'assigned_user_id'),
        dictionaries=[ref('stg_bitrix24__statuses'), ref('stg_bitrix24__deal_categories')],
    ) }}
{%- endmacro %}

{#- The keys (column `key`) of the rows of fact `fact` to rebuild after `watermark`: a select
    that may read the fact itself ({{ this }}), so it is evaluated before the pre-hook deletes. -#}
{% macro fact_keys_to_rebuild(fact, watermark) -%}
    {%- if fact == 'fct_deals' -%}
        {{ changed_deal_ids(watermark) }}
    {%- elif fact == 'fct_leads' -%}
        {{ changed_fact_keys(
            'lead_id', ref('stg_bitrix24__leads'), watermark,
            lookups=bitrix24_owner_lookups('company_id', 'assigned_user_id'),
            dictionaries=[ref('stg_bitrix24__statuses')],
        ) }}
    {%- elif fact == 'fct_activities' -%}
        {#- the responsible user is read from the fact (manager_id): an activity whose own row did
            not change since the watermark has in the fact the user it has in staging, and the
            narrow fact is far cheaper to scan than the raw payloads -#}
        {{ changed_fact_keys('activity_id', ref('stg_bitrix24__activities'), watermark) }}
        union all
        select in_fact.activity_id from {{ this }} as in_fact
        where in_fact.manager_id in (
            select users.user_id from (select * from {{ ref('stg_bitrix24__users') }}) as users
            where {{ staging_changed_since(watermark) }}
        )
    {%- elif fact == 'fct_deal_stage_history' -%}
        {#- whole deals (their history, or the deal's manager, department or client, changed), and
            changed rows without a deal (each its own sequence). The entries of those deals are
            read from the fact through its deal_id index: an entry not in the fact yet, or moved
            to another deal, was landed after the watermark and is a changed row itself. -#}
        select in_fact.stage_history_id from {{ this }} as in_fact
        where in_fact.deal_id in (
            select changed.deal_id from (select * from {{ ref('stg_bitrix24__deal_stage_history') }}) as changed
            where {{ staging_changed_since(watermark) }}
            union all
            {{ changed_deal_ids(watermark) }}
        )
        union all
        {{ changed_fact_keys('stage_history_id', ref('stg_bitrix24__deal_stage_history'), watermark) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error('fact_keys_to_rebuild: unknown fact ' ~ fact) }}
    {%- endif -%}
{%- endmacro %}

{% macro fact_key_column(fact) -%}
    {{ return({
        'fct_deals': 'deal_id',
        'fct_leads': 'lead_id',
        'fct_activities': 'activity_id',
        'fct_deal_stage_history': 'stage_history_id',
    }[fact]) }}
{%- endmacro %}

{#- The session's temporary table of the keys to rebuild (filled by the pre-hook). -#}
{% macro rebuild_keys_table(fact) -%}
    pg_temp.{{ fact }}__keys_to_rebuild
{%- endmacro %}

{#- The `where` condition of an incremental fact's staging rows: all rows on a full build, the rows
    whose keys the pre-hook put in the keys table on an incremental run, as `key = any(array(...))`:
    an index condition on the raw table's primary key through the staging view, so the run's cost
    follows the changed rows. (Postgres 18 plans `key in (select ...)` and a join to the keys over
    a staging view as a hash join over a full scan of the raw payloads, 2.2 s for 720 keys at 30k
    clients against 5 ms; an `or` of two `in (select ...)`, as before, became a subplan per row
    and ran past 300 s.) -#}
{% macro fact_rows_filter(fact) -%}
    {{ return(adapter.dispatch('fact_rows_filter')(fact)) }}
{%- endmacro %}

{% macro default__fact_rows_filter(fact) -%}
    {%- set watermark = loaded_watermark() -%}
    {%- if watermark is none -%}
        true
    {%- else -%}
        {%- set key = fact_key_column(fact) -%}
        {{ key }} = any(array(select rebuild.{{ key }} from {{ rebuild_keys_table(fact) }} as rebuild))
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of an incremental fact: on an incremental run, collect the keys to rebuild into a
    temporary table (distinct, analysed, so the planner knows how few they are) and delete those
    rows through the fact's key index. The model's select (same session) reads the same table.
    Then nested loops are turned off for the rest of the run's transaction (set_config(..., true)
    is SET LOCAL): the planner cannot know how many keys `key = any(array(...))` yields and
    assumes one row, so it joined the changed rows to int_client_identity (a view) in a nested
    loop that recomputed the view once per changed row. A day that touched 8 059 of 32 509
    companies (10 486 deals to rebuild at 30k clients) ran fct_deals past a 600 s statement
    timeout; with hash joins the same select takes 1.4 s. The index scan of the raw rows by
    their keys is not a join, so it stays. -#}
{% macro delete_changed_fact_rows(fact) -%}
    {{ return(adapter.dispatch('delete_changed_fact_rows')(fact)) }}
{%- endmacro %}

{% macro default__delete_changed_fact_rows(fact) -%}
    {%- set watermark = loaded_watermark() -%}
    {%- if watermark is not none -%}
        {%- set key = fact_key_column(fact) -%}
        {%- set keys = rebuild_keys_table(fact) -%}
        drop table if exists {{ keys }};
        create temporary table {{ fact }}__keys_to_rebuild as
        select distinct rebuild.{{ key }} from ({{ fact_keys_to_rebuild(fact, watermark) }}) as rebuild
        where rebuild.{{ key }} is not null;
        analyze {{ keys }};
        delete from {{ this }} where {{ key }} in (select rebuild.{{ key }} from {{ keys }} as rebuild);
        select set_config('enable_nestloop', 'off', true)
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
