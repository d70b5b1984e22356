{#- Per raw landing table: when it was last loaded, how many rows it holds and how many the ID
    reconciliation marked deleted. Reads the raw tables directly (metadata, not business data). -#}
{%- set raw_tables = [
    ('bitrix24', 'bitrix24__companies'), ('bitrix24', 'bitrix24__requisites'), ('bitrix24', 'bitrix24__contacts'),
    ('bitrix24', 'bitrix24__leads'), ('bitrix24', 'bitrix24__deals'), ('bitrix24', 'bitrix24__deal_stage_history'),
    ('bitrix24', 'bitrix24__activities'), ('bitrix24', 'bitrix24__users'), ('bitrix24', 'bitrix24__departments'),
    ('bitrix24', 'bitrix24__statuses'), ('bitrix24', 'bitrix24__deal_categories'),
    ('bitrix24', 'bitrix24__deal_product_rows'), ('bitrix24', 'bitrix24__products'),
    ('onec', 'onec__counterparties'), ('onec', 'onec__partners'), ('onec', 'onec__business_regions'),
    ('onec', 'onec__users'), ('onec', 'onec__departments'), ('onec', 'onec__products'),
    ('onec', 'onec__sales_documents'), ('onec', 'onec__returns'),
    ('files', 'files__rosstat_outlets'), ('files', 'files__potential_clients'), ('files', 'files__sales_plans'),
    ('files', 'files__assortment_matrix'), ('files', 'files__nps_answers'), ('files', 'files__marketing_spend'),
    ('files', 'files__sales_lines'),
] -%}
with

tables as (
    {% for source_name, table_name in raw_tables %}
        select
            '{{ source_name }}' as source_system,
            '{{ table_name }}' as raw_table,
            max(raw_rows._loaded_at) as last_loaded_at,
            max(raw_rows._modified_at) as last_modified_at,
            count(*) as total_rows,
            coalesce(sum(case when raw_rows._deleted_at is not null then 1 else 0 end), 0) as deleted_rows
        from (select * from {{ source(source_name, table_name) }}) as raw_rows
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
