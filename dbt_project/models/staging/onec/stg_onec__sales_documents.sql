with

source as (

    select * from {{ source('onec', 'onec__sales_documents') }}

),

renamed as (

    select
        -- ids
        source.source_key as document_id,
        {{ onec_document_columns('source') }}

    from source

)

select * from renamed
