{#- The tabular part Товары of each sales document, one row per line, keyed by Ref_Key + LineNumber
    (macro onec_document_lines, shared with the returns). -#}
with

source as (

    select * from {{ source('onec', 'onec__sales_documents') }}

),

renamed as (

    {{ onec_document_lines('source', line_id='sales_line_id', document_id='document_id') }}

)

select * from renamed
