{#- The tabular part Товары of each return, one row per line, keyed by Ref_Key + LineNumber
    (macro onec_document_lines, shared with the sales documents). -#}
with

source as (

    select * from {{ source('onec', 'onec__returns') }}

),

renamed as (

    {{ onec_document_lines('source', line_id='return_line_id', document_id='return_id', concept='returns') }}

)

select * from renamed
