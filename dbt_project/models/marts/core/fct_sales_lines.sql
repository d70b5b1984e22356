{#- Revenue lines (1C sales, 1C returns as negative lines, ERP file lines). Incremental,
    delete+insert by document: a run takes the documents (file rows) whose raw row was landed or
    marked deleted after the newest source_loaded_at already in the table (minus var
    incremental_lookback_minutes, for loads committed late), deletes all their lines (pre-hook:
    so unposted, deletion-marked and changed documents are replaced) and inserts their current
    lines. The watermark is a literal, filtered on the raw rows before the lines are unnested. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='sales_line_id',
    on_schema_change='fail',
    pre_hook=["{{ delete_changed_sales_documents() }}"],
    post_hook=["{{ analyze_if_never_analyzed() }}"],
    indexes=postgres_indexes([
        {'columns': ['sales_line_id']},
        {'columns': ['onec_document_ref']},
        {'columns': ['source_loaded_at']},
    ]),
) }}

-- the incremental branch imports these models (not seen by dbt's parse, which renders the full build):
-- depends_on: {{ ref('int_client_identity') }}
-- depends_on: {{ ref('int_onec_users_matched') }}
-- depends_on: {{ ref('stg_onec__partners') }}
-- depends_on: {{ ref('stg_onec__business_regions') }}
-- depends_on: {{ ref('stg_onec__sales_documents') }}
-- depends_on: {{ ref('stg_onec__sales_lines') }}
-- depends_on: {{ ref('stg_onec__returns') }}
-- depends_on: {{ ref('stg_onec__return_lines') }}
-- depends_on: {{ ref('stg_files__sales_lines') }}
-- depends_on: {{ ref('stg_bitrix24__users') }}

with

clients as (

    select * from {{ ref('int_clients_attributed') }}

),

products as (

    select * from {{ ref('int_products_categorized') }}

),

{% if is_incremental() %}

    onec_identity as (

        select * from {{ ref('int_client_identity') }}
        where source_system = 'onec'

    ),

    file_identity as (

        select * from {{ ref('int_client_identity') }}
        where source_system = 'file'

    ),

    int_onec_users_matched as (

        select * from {{ ref('int_onec_users_matched') }}

    ),

    stg_onec__partners as (

        select * from {{ ref('stg_onec__partners') }}

    ),

    stg_onec__business_regions as (

        select * from {{ ref('stg_onec__business_regions') }}

    ),

    stg_onec__sales_documents as (

        select * from {{ ref('stg_onec__sales_documents') }}

    ),

    stg_onec__sales_lines as (

        select * from {{ ref('stg_onec__sales_lines') }}

    ),

    stg_onec__returns as (

        select * from {{ ref('stg_onec__returns') }}

    ),

    stg_onec__return_lines as (

        select * from {{ ref('stg_onec__return_lines') }}

    ),

    stg_files__sales_lines as (

        select * from {{ ref('stg_files__sales_lines') }}

    ),

    stg_bitrix24__users as (

        select * from {{ ref('stg_bitrix24__users') }}

    ),

    {{ sales_lines_unioned_ctes(changed_since=loaded_watermark()) }},

    lines as (

        select * from sales_lines_unioned

    ),

{% else %}

    lines as (

        select * from {{ ref('int_sales_lines_unioned') }}

    ),

{% endif %}

final as (

    select
        -- plain columns (ids, strings, numerics, dates), then the attributed ones
        lines.sales_line_id as sales_line_id,
        lines.client_id as client_id,
        lines.product_id as product_id,
        lines.onec_document_ref as onec_document_ref,
        lines.source as source,  -- noqa: RF04
        lines.line_kind as line_kind,
        lines.document_number as document_number,
        lines.quantity as quantity,
        lines.revenue as revenue,
        lines.document_date as document_date,
        lines.source_loaded_at as source_loaded_at,
        coalesce(lines.manager_id, clients.manager_id) as manager_id,
        coalesce(lines.department_id, clients.department_id) as department_id,
        coalesce(products.category, 'Без категории') as category,
        coalesce(lines.region, clients.region, 'Не указан') as region,
        coalesce(lines.channel, clients.channel, 'Не указан') as channel

    from lines
    left join clients
        on lines.client_id = clients.client_id
    left join products
        on lines.product_id = products.product_id

)

select * from final
