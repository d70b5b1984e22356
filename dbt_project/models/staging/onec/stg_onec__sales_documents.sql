with

source as (

    select * from {{ source('onec', 'onec__sales_documents') }}

),

renamed as (

    select
        -- ids
        source.source_key as document_id,
        {{ onec_ref(json_text('source.payload', 'Контрагент_Key')) }} as counterparty_id,
        {{ onec_ref(json_text('source.payload', 'Партнер_Key')) }} as partner_id,
        {{ onec_ref(json_text('source.payload', 'Менеджер_Key')) }} as manager_user_id,
        {{ onec_ref(json_text('source.payload', 'Подразделение_Key')) }} as department_id,

        -- strings
        {{ onec_string(json_text('source.payload', 'Number')) }} as document_number,
        {{ json_text('source.payload', 'DataVersion') }} as data_version,

        -- numerics
        {{ dbt.safe_cast(json_text('source.payload', 'СуммаДокумента'), dbt.type_numeric()) }} as document_amount,

        -- booleans
        {{ onec_bool(json_text('source.payload', 'ЦенаВключаетНДС')) }} as price_includes_vat,
        {{ onec_bool(json_text('source.payload', 'Posted')) }} as is_posted,
        {{ onec_bool(json_text('source.payload', 'DeletionMark')) }} as is_deletion_marked,
        source._deleted_at is not null as is_deleted,

        -- dates
        {{ onec_timestamp(json_text('source.payload', 'Date')) }} as document_at,
        cast({{ onec_timestamp(json_text('source.payload', 'Date')) }} as date) as document_date,
        source._loaded_at as loaded_at,
        source._deleted_at as deleted_at

    from source

)

select * from renamed
