{#- Which sources feed the panel: one row per source (Bitrix24, 1С, files), connected when at
    least one of its raw tables holds a live row. Says what each source feeds and which
    cross-system checks of dq_unmatched_clients it switches on, so a company with only some
    sources sees which dashboards and checks are off and why. Built from dq_source_freshness. -#}
with

freshness as (

    select * from {{ ref('dq_source_freshness') }}

),

sources as (

    select
        'bitrix24' as source_system,
        'Bitrix24' as source_label,
        1 as sort_order,
        'Воронка продаж, лиды и каналы привлечения, менеджеры и отделы (доступ по строкам), '
        || 'действия и задачи в Bitrix24' as feeds,
        'Клиенты 1С без компании в Bitrix24 («Нет компании в Битрикс24»)' as cross_check

    union all

    select
        'onec' as source_system,
        '1С' as source_label,
        2 as sort_order,
        'Продажи и возвраты: выручка, ABC/XYZ, стабильность, периодичность, RFM, топ-клиенты, '
        || 'прогнозы; регионы и каналы сбыта партнёров' as feeds,
        'Компании Bitrix24 и клиенты файла продаж без контрагента 1С («Нет контрагента в 1С»)' as cross_check

    union all

    select
        'files' as source_system,
        'Файлы' as source_label,
        3 as sort_order,
        'Продажи из выгрузки ERP (файл продаж), планы продаж, матрица ассортимента, NPS, '
        || 'маркетинговые затраты, потенциальные клиенты и торговые точки Росстата' as feeds,
        cast(null as {{ dbt.type_string() }}) as cross_check

),

per_source as (

    select
        freshness.source_system,
        count(*) as raw_tables,
        sum(case when freshness.total_rows > freshness.deleted_rows then 1 else 0 end) as loaded_tables,
        sum(freshness.total_rows - freshness.deleted_rows) as live_rows,
        max(freshness.last_loaded_at) as last_loaded_at
    from freshness
    group by freshness.source_system

),

loaded_names as (

    select
        freshness.source_system,
        {{ dbt.listagg('freshness.raw_table', "', '", 'order by freshness.raw_table') }} as loaded_raw_tables
    from freshness
    where freshness.total_rows > freshness.deleted_rows
    group by freshness.source_system

),

final as (

    select
        -- ids
        sources.source_system as source_system,

        -- strings
        sources.source_label as source_label,
        case when per_source.live_rows > 0 then 'подключен' else 'не подключен' end as connection_status,
        sources.feeds as feeds,
        loaded_names.loaded_raw_tables as loaded_raw_tables,
        case
            when sources.cross_check is null then null
            when per_source.live_rows > 0 then {{ dbt.concat(['sources.cross_check', "': проверяется'"]) }}
            else {{ dbt.concat(['sources.cross_check', "': не проверяется, источник не подключен'"]) }}
        end as cross_check,

        -- numerics
        sources.sort_order as sort_order,
        coalesce(per_source.raw_tables, 0) as raw_tables,
        coalesce(per_source.loaded_tables, 0) as loaded_tables,
        coalesce(per_source.live_rows, 0) as live_rows,

        -- booleans
        coalesce(per_source.live_rows, 0) > 0 as is_connected,

        -- dates
        per_source.last_loaded_at as last_loaded_at

    from sources
    left join per_source
        on sources.source_system = per_source.source_system
    left join loaded_names
        on sources.source_system = loaded_names.source_system

)

select * from final
