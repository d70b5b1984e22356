with

source as (

    select * from {{ source('onec', 'onec__counterparties') }}

),

renamed as (

    select
        -- ids
        source.source_key as counterparty_id,
        {{ onec_ref(hc_onec_text('source.payload', 'counterparties', 'partner', 'Партнер_Key')) }} as partner_id,

        -- strings
        {{ onec_string(json_text('source.payload', 'Code')) }} as counterparty_code,
        {{ onec_string(json_text('source.payload', 'Description')) }} as counterparty_name,
        {{ onec_string(json_text('source.payload', 'НаименованиеПолное')) }} as counterparty_full_name,
        {{ onec_string(hc_onec_text('source.payload', 'counterparties', 'inn', 'ИНН')) }} as inn,
        {{ onec_string(hc_onec_text('source.payload', 'counterparties', 'kpp', 'КПП')) }} as kpp,
        {{ onec_string(json_text('source.payload', 'ЮрФизЛицо')) }} as legal_form,
        {{ json_text('source.payload', 'DataVersion') }} as data_version,

        -- booleans
        {{ onec_bool(json_text('source.payload', 'DeletionMark')) }} as is_deletion_marked,
        source._deleted_at is not null as is_deleted,

        -- dates
        source._loaded_at as loaded_at,
        source._modified_at as source_modified_at

    from source

)

select * from renamed
