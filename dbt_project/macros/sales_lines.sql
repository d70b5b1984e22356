{#- Every revenue line: posted, not deletion-marked 1C sales lines, posted 1C returns as
    negative lines, and the lines of the generic ERP sales file. Revenue excludes VAT unless
    var revenue_includes_vat. Document flags are applied here, not in staging.
    `changed_since` (a timestamp literal or none): only documents/rows landed or marked deleted
    after it, filtered on the staging rows before the document lines are unnested, so the
    predicate reaches the raw tables' `_loaded_at` / `_deleted_at` indexes (incremental runs of
    fct_sales_lines). Used by int_sales_lines_unioned (all rows) and fct_sales_lines.
    The logic CTEs after a model's import CTEs (the macro reads no model itself), ending with the
    CTE sales_lines_unioned; the imports it reads, named as here: onec_identity and file_identity
    (int_client_identity where source_system is 'onec' / 'file'), int_onec_users_matched,
    stg_onec__partners, stg_onec__business_regions, stg_onec__sales_documents,
    stg_onec__sales_lines, stg_onec__returns, stg_onec__return_lines, stg_files__sales_lines,
    stg_bitrix24__users. A CTE read once is inlined by Postgres, so `changed_since` still
    reaches the raw tables' indexes. -#}
{% macro sales_lines_unioned_ctes(changed_since=none) -%}
partners as (

    select
        partner.partner_id as partner_id,
        partner.sales_channel as sales_channel,
        region.region_name as region_name
    from stg_onec__partners as partner
    left join stg_onec__business_regions as region
        on partner.business_region_id = region.business_region_id

),

sales as (

    select
        {{ dbt.concat(["'onec:'", 'doc_line.sales_line_id']) }} as sales_line_id,
        'onec' as source,  -- noqa: RF04
        'sale' as line_kind,
        doc.document_id as onec_document_ref,
        doc.document_number as document_number,
        doc.document_date as document_date,
        doc.counterparty_id as counterparty_id,
        doc.partner_id as partner_id,
        doc.manager_user_id as manager_user_id,
        doc_line.product_id as product_id,
        doc_line.quantity as quantity,
        {{ onec_line_revenue('doc_line', 'doc') }} as revenue,
        doc.loaded_at as source_loaded_at
    from {{ changed_rows('stg_onec__sales_documents', changed_since) }} as doc
    inner join {{ changed_rows('stg_onec__sales_lines', changed_since) }} as doc_line
        on doc.document_id = doc_line.document_id
    where doc.is_posted and not doc.is_deletion_marked and not doc.is_deleted

),

returns as (

    select
        {{ dbt.concat(["'onec:'", 'doc_line.return_line_id']) }} as sales_line_id,
        'onec' as source,  -- noqa: RF04
        'return' as line_kind,
        doc.return_id as onec_document_ref,
        doc.document_number as document_number,
        doc.document_date as document_date,
        doc.counterparty_id as counterparty_id,
        doc.partner_id as partner_id,
        doc.manager_user_id as manager_user_id,
        doc_line.product_id as product_id,
        -1 * doc_line.quantity as quantity,
        -1 * {{ onec_line_revenue('doc_line', 'doc') }} as revenue,
        doc.loaded_at as source_loaded_at
    from {{ changed_rows('stg_onec__returns', changed_since) }} as doc
    inner join {{ changed_rows('stg_onec__return_lines', changed_since) }} as doc_line
        on doc.return_id = doc_line.return_id
    where doc.is_posted and not doc.is_deletion_marked and not doc.is_deleted

),

onec_lines as (

    select * from sales
    union all
    select * from returns

),

onec_enriched as (

    select
        onec_lines.sales_line_id as sales_line_id,
        onec_lines.source as source,
        onec_lines.line_kind as line_kind,
        onec_lines.onec_document_ref as onec_document_ref,
        onec_lines.document_number as document_number,
        onec_lines.document_date as document_date,
        coalesce(
            onec_identity.client_id,
            {{ dbt.concat(["'onec:'", "coalesce(onec_lines.counterparty_id, 'без контрагента')"]) }}
        )
            as client_id,
        onec_lines.product_id as product_id,
        matched_users.manager_id as manager_id,
        matched_users.department_id as department_id,
        partners.region_name as region,
        partners.sales_channel as channel,
        onec_lines.quantity as quantity,
        onec_lines.revenue as revenue,
        onec_lines.source_loaded_at as source_loaded_at
    from onec_lines
    left join onec_identity
        on onec_lines.counterparty_id = onec_identity.record_id
    left join int_onec_users_matched as matched_users
        on onec_lines.manager_user_id = matched_users.onec_user_id
    left join partners
        on onec_lines.partner_id = partners.partner_id

),

file_lines as (

    select
        {{ dbt.concat(["'file:'", 'file_line.sales_line_id']) }} as sales_line_id,
        'file' as source,  -- noqa: RF04
        case when file_line.amount_rub < 0 then 'return' else 'sale' end as line_kind,
        cast(null as {{ dbt.type_string() }}) as onec_document_ref,
        file_line.document_number as document_number,
        file_line.sold_on as document_date,
        coalesce(file_identity.client_id, 'file:без ИНН') as client_id,
        {{ dbt.concat(["'file:'", 'file_line.product_name']) }} as product_id,
        coalesce(manager_by_id.user_id, manager_by_name.user_id) as manager_id,
        {{ dbt.safe_cast('coalesce(manager_by_id.department_id, manager_by_name.department_id)', dbt.type_string()) }}             as department_id,
        file_line.region as region,
        file_line.channel as channel,
        file_line.quantity as quantity,
        file_line.amount_rub as revenue,
        file_line.loaded_at as source_loaded_at
    from {{ changed_rows('stg_files__sales_lines', changed_since) }} as file_line
    left join file_identity
        on {{ file_client_record_key('file_line') }} = file_identity.record_id
    left join stg_bitrix24__users as manager_by_id
        on file_line.manager_name = manager_by_id.user_id
    left join stg_bitrix24__users as manager_by_name
        on
            {{ normalize_person_name('file_line.manager_name') }}
            = {{ normalize_person_name(dbt.concat(['manager_by_name.last_name', "' '", 'manager_by_name.first_name'])) }}
    where not file_line.is_deleted

),

unioned as (

    select * from onec_enriched
    union all
    select * from file_lines

),

sales_lines_unioned as (

    select
        unioned.sales_line_id,
        unioned.source,
        unioned.line_kind,
        unioned.onec_document_ref,
        unioned.document_number,
        unioned.document_date,
        unioned.client_id,
        unioned.product_id,
        unioned.manager_id,
        unioned.department_id,
        unioned.region,
        unioned.channel,
        round(unioned.quantity, 3) as quantity,
        round(unioned.revenue, 2) as revenue,
        unioned.source_loaded_at
    from unioned

)
{%- endmacro %}

{#- A staging relation or import CTE (with loaded_at and deleted_at columns), restricted to rows landed or
    marked deleted after `changed_since` when it is not none. Always a subquery, so the caller can
    alias it also under `dbt build --empty` (where a ref renders as an aliased subquery). -#}
{% macro changed_rows(relation, changed_since) -%}
    {%- if changed_since is none -%}
        (select * from {{ relation }})
    {%- else -%}
        (
            select * from {{ relation }}
            where
                loaded_at > cast('{{ changed_since }}' as {{ type_timestamp_tz() }})
                or deleted_at > cast('{{ changed_since }}' as {{ type_timestamp_tz() }})
        )
    {%- endif -%}
{%- endmacro %}

{% macro type_timestamp_tz() -%}
    {{ return(adapter.dispatch('type_timestamp_tz')()) }}
{%- endmacro %}

{% macro default__type_timestamp_tz() -%}
    timestamp with time zone
{%- endmacro %}

{#- The watermark of an incremental model fed by raw rows, as a timestamp literal: the newest
    `column` (the raw `_loaded_at` carried into the model) in the table minus var
    incremental_lookback_minutes; none when the table is empty or not yet built (then everything
    is selected). The incremental facts index `column`, so this max() reads one index entry
    instead of the whole fact (it runs in the pre-hook and in the model). -#}
{% macro loaded_watermark(column='source_loaded_at') -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set watermark_sql -%}
        select max(loaded.{{ column }}) - {{ lookback_interval() }} from {{ this }} as loaded
    {%- endset -%}
    {%- set watermark = run_query(watermark_sql).columns[0].values()[0] -%}
    {{ return(none if watermark is none else watermark.isoformat()) }}
{%- endmacro %}

{% macro lookback_interval() -%}
    {{ return(adapter.dispatch('lookback_interval')()) }}
{%- endmacro %}

{% macro default__lookback_interval() -%}
    make_interval(mins => {{ var('incremental_lookback_minutes') | int }})
{%- endmacro %}

{#- Pre-hook of fct_sales_lines: on an incremental run, delete every line of the 1C documents
    and returns, and every file row, landed or marked deleted after the watermark (read through
    the staging views, whose loaded_at / deleted_at filters reach the raw tables' indexes). -#}
{% macro delete_changed_sales_documents() -%}
    {%- set watermark = loaded_watermark() -%}
    {%- set statements = [] -%}
    {%- if watermark is not none -%}
        {%- set changed = staging_changed_since(watermark) -%}
        {#- two statements, each through its own index (onec_document_ref, sales_line_id): one
            delete with `a in (...) or b in (...)` can use neither and scans the whole fact -#}
        {%- set documents -%}
        delete from {{ this }}
        where onec_document_ref in (
            select document_id from {{ ref('stg_onec__sales_documents') }} where {{ changed }}
            union all
            select return_id from {{ ref('stg_onec__returns') }} where {{ changed }}
        )
        {%- endset -%}
        {%- set file_rows -%}
        delete from {{ this }}
        where sales_line_id in (
            select {{ dbt.concat(["'file:'", 'sales_line_id']) }}
            from {{ ref('stg_files__sales_lines') }} where {{ changed }}
        )
        {%- endset -%}
        {%- do statements.extend([documents, file_rows]) -%}
    {%- endif -%}
    {{ hook_statements(statements) }}
{%- endmacro %}

{#- Staging rows (columns loaded_at, deleted_at) landed or marked deleted after the watermark. -#}
{% macro staging_changed_since(watermark) -%}
    (loaded_at > cast('{{ watermark }}' as {{ type_timestamp_tz() }})
     or deleted_at > cast('{{ watermark }}' as {{ type_timestamp_tz() }}))
{%- endmacro %}
