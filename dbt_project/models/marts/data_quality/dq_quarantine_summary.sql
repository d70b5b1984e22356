{#- Rows the loaders refused (stg_ingest_state__quarantine), summed per source, file, field and reason,
    with the latest example value so a user can find and fix the row. -#}
with

quarantine as (

    select * from {{ ref('stg_ingest_state__quarantine') }}

),

ranked as (

    select
        quarantine.*,
        row_number() over (
            partition by quarantine.source, quarantine.file, quarantine.field, quarantine.reason
            order by quarantine.quarantined_at desc, quarantine.quarantine_id desc
        ) as recency_rank
    from quarantine

),

final as (

    select
        -- ids
        {{ dbt.concat([
            'ranked.source', "'|'", "coalesce(ranked.file, '')", "'|'",
            "coalesce(ranked.field, '')", "'|'", 'ranked.reason',
        ]) }} as quarantine_group_id,
        max(case when ranked.recency_rank = 1 then ranked.load_id end) as last_load_id,

        -- strings
        ranked.source,
        ranked.file,
        ranked.field,
        ranked.reason,
        max(case when ranked.recency_rank = 1 then ranked.value end) as example_value,

        -- numerics
        count(*) as quarantined_rows,
        max(case when ranked.recency_rank = 1 then ranked.row_number end) as example_row_number,

        -- dates
        min(ranked.quarantined_at) as first_quarantined_at,
        max(ranked.quarantined_at) as last_quarantined_at

    from ranked
    group by ranked.source, ranked.file, ranked.field, ranked.reason

)

select * from final
