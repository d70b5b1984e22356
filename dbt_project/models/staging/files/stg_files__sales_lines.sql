with

source as (

    select * from {{ source('files', 'files__sales_lines') }}

),

renamed as (

    select
        -- ids
        source_key as sales_line_id,
        {{ b_json_text('payload', 'document_number') }} as document_number,
        {{ b_json_text('payload', 'inn') }} as inn,
        {{ b_json_text('payload', 'client_code') }} as client_code,

        -- strings
        {{ b_json_text('payload', 'client_name') }} as client_name,
        {{ b_json_text('payload', 'product') }} as product_name,
        {{ b_json_text('payload', 'manager') }} as manager_name,
        {{ b_json_text('payload', 'region') }} as region,
        {{ b_json_text('payload', 'channel') }} as channel,
        _source as source_file,

        -- numerics
        {{ file_number('quantity') }} as quantity,
        {{ file_number('amount') }} as amount_rub,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        {{ b_to_date(b_json_text('payload', 'date')) }} as sold_on,
        _loaded_at as loaded_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
