with

source as (

    select * from {{ source('onec', 'onec__returns') }}

),

renamed as (

    select
        -- ids
        source.source_key as return_id,
        {{ onec_ref(json_text('source.payload', 'ДокументРеализации_Key')) }} as sales_document_id,
        {{ onec_document_columns('source', 'returns') }}

    from source
    where {{ hc_onec_filter('source.payload', 'returns') }}

)

select * from renamed
