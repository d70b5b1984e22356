{#- Per raw landing table: when it was last loaded, how many rows it holds and how many the ID
    reconciliation marked deleted. Read through each table's staging model (one per raw table; the
    1C documents through their headers), which carries the raw row's _loaded_at, _modified_at and
    _deleted_at as loaded_at, source_modified_at and is_deleted: no mart reads source(). A raw row
    that staging leaves out by the mapping (an address of a contact or lead, a deal of a pipeline
    the mapping does not name, a 1C receipt that is not a return) is not counted. How old a
    table may get is the dbt source's freshness.warn_after, checked by Dagster's asset checks
    (the one freshness rule); this mart shows the ages. -#}
{%- set raw_tables = [
    ('bitrix24', 'bitrix24__companies'),
    ('bitrix24', 'bitrix24__requisites'),
    ('bitrix24', 'bitrix24__addresses'),
    ('bitrix24', 'bitrix24__contacts'),
    ('bitrix24', 'bitrix24__leads'),
    ('bitrix24', 'bitrix24__deals'),
    ('bitrix24', 'bitrix24__deal_stage_history'),
    ('bitrix24', 'bitrix24__activities'),
    ('bitrix24', 'bitrix24__users'),
    ('bitrix24', 'bitrix24__departments'),
    ('bitrix24', 'bitrix24__statuses'),
    ('bitrix24', 'bitrix24__deal_categories'),
    ('bitrix24', 'bitrix24__deal_product_rows'),
    ('bitrix24', 'bitrix24__products'),
    ('onec', 'onec__counterparties'),
    ('onec', 'onec__partners'),
    ('onec', 'onec__business_regions'),
    ('onec', 'onec__users'),
    ('onec', 'onec__departments'),
    ('onec', 'onec__products'),
    ('onec', 'onec__sales_documents'),
    ('onec', 'onec__returns'),
    ('files', 'files__rosstat_outlets'),
    ('files', 'files__potential_clients'),
    ('files', 'files__sales_plans'),
    ('files', 'files__assortment_matrix'),
    ('files', 'files__nps_answers'),
    ('files', 'files__marketing_spend'),
    ('files', 'files__sales_lines'),
] -%}
with

stg_bitrix24__companies as (

    select * from {{ ref('stg_bitrix24__companies') }}

),

stg_bitrix24__requisites as (

    select * from {{ ref('stg_bitrix24__requisites') }}

),

stg_bitrix24__addresses as (

    select * from {{ ref('stg_bitrix24__addresses') }}

),

stg_bitrix24__contacts as (

    select * from {{ ref('stg_bitrix24__contacts') }}

),

stg_bitrix24__leads as (

    select * from {{ ref('stg_bitrix24__leads') }}

),

stg_bitrix24__deals as (

    select * from {{ ref('stg_bitrix24__deals') }}

),

stg_bitrix24__deal_stage_history as (

    select * from {{ ref('stg_bitrix24__deal_stage_history') }}

),

stg_bitrix24__activities as (

    select * from {{ ref('stg_bitrix24__activities') }}

),

stg_bitrix24__users as (

    select * from {{ ref('stg_bitrix24__users') }}

),

stg_bitrix24__departments as (

    select * from {{ ref('stg_bitrix24__departments') }}

),

stg_bitrix24__statuses as (

    select * from {{ ref('stg_bitrix24__statuses') }}

),

stg_bitrix24__deal_categories as (

    select * from {{ ref('stg_bitrix24__deal_categories') }}

),

stg_bitrix24__deal_product_rows as (

    select * from {{ ref('stg_bitrix24__deal_product_rows') }}

),

stg_bitrix24__products as (

    select * from {{ ref('stg_bitrix24__products') }}

),

stg_onec__counterparties as (

    select * from {{ ref('stg_onec__counterparties') }}

),

stg_onec__partners as (

    select * from {{ ref('stg_onec__partners') }}

),

stg_onec__business_regions as (

    select * from {{ ref('stg_onec__business_regions') }}

),

stg_onec__users as (

    select * from {{ ref('stg_onec__users') }}

),

stg_onec__departments as (

    select * from {{ ref('stg_onec__departments') }}

),

stg_onec__products as (

    select * from {{ ref('stg_onec__products') }}

),

stg_onec__sales_documents as (

    select * from {{ ref('stg_onec__sales_documents') }}

),

stg_onec__returns as (

    select * from {{ ref('stg_onec__returns') }}

),

stg_files__rosstat_outlets as (

    select * from {{ ref('stg_files__rosstat_outlets') }}

),

stg_files__potential_clients as (

    select * from {{ ref('stg_files__potential_clients') }}

),

stg_files__sales_plans as (

    select * from {{ ref('stg_files__sales_plans') }}

),

stg_files__assortment_matrix as (

    select * from {{ ref('stg_files__assortment_matrix') }}

),

stg_files__nps_answers as (

    select * from {{ ref('stg_files__nps_answers') }}

),

stg_files__marketing_spend as (

    select * from {{ ref('stg_files__marketing_spend') }}

),

stg_files__sales_lines as (

    select * from {{ ref('stg_files__sales_lines') }}

),

tables as (
    {% for source_name, table_name in raw_tables %}
        select
            '{{ source_name }}' as source_system,
            '{{ table_name }}' as raw_table,
            max(staged.loaded_at) as last_loaded_at,
            max(staged.source_modified_at) as last_modified_at,
            count(*) as total_rows,
            coalesce(sum(case when staged.is_deleted then 1 else 0 end), 0) as deleted_rows
        from stg_{{ table_name }} as staged
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        -- ids
        tables.raw_table,

        -- strings
        tables.source_system,

        -- numerics
        tables.total_rows,
        tables.deleted_rows,
        round(
            {{ dbt.safe_cast(
                dbt.datediff('tables.last_loaded_at', dbt.current_timestamp(), 'minute'), dbt.type_numeric()
            ) }}
            / 60,
            1
        ) as hours_since_load,

        -- booleans
        tables.total_rows = 0 as is_empty,

        -- dates
        tables.last_loaded_at,
        tables.last_modified_at

    from tables

)

select
    final.*,
    {{ source_system_label('final.source_system') }} as source_system_label
from final
