{#- The tabular part Товары of each document, one row per line, keyed by Ref_Key + LineNumber. -#}
with

source as (

    select * from {{ source('onec', 'onec__returns') }}

),

renamed as (

    select
        -- ids
        {{ dbt.concat(['source.source_key', "'-'", json_text('line.element', 'LineNumber')]) }} as return_line_id,
        source.source_key as return_id,
        {{ onec_ref(json_text('line.element', 'Номенклатура_Key')) }} as product_id,

        -- strings
        {{ json_text('line.element', 'СтавкаНДС') }} as vat_rate,

        -- numerics
        cast({{ json_text('line.element', 'LineNumber') }} as integer) as line_number,
        {{ dbt.safe_cast(json_text('line.element', 'Количество'), dbt.type_numeric()) }} as quantity,
        {{ dbt.safe_cast(json_text('line.element', 'Цена'), dbt.type_numeric()) }} as price,
        {{ dbt.safe_cast(json_text('line.element', 'Сумма'), dbt.type_numeric()) }} as amount,
        coalesce({{ dbt.safe_cast(json_text('line.element', 'СуммаНДС'), dbt.type_numeric()) }}, 0) as vat_amount,

        -- dates
        source._loaded_at as loaded_at,
        source._deleted_at as deleted_at

    from source
    {{ json_array_join(json_path('source.payload', 'Товары'), 'line') }}

)

select * from renamed
