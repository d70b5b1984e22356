with

source as (

    select * from {{ source('files', 'files__sales_lines') }}

),

renamed as (

    select
        -- ids
        source_key as sales_line_id,
        {{ json_text('payload', 'document_number') }} as document_number,
        {{ json_text('payload', 'inn') }} as inn,
        {{ json_text('payload', 'client_code') }} as client_code,

        -- strings
        {{ json_text('payload', 'client_name') }} as client_name,
        {{ json_text('payload', 'product') }} as product_name,
        {{ json_text('payload', 'manager') }} as manager_name,
        {{ json_text('payload', 'region') }} as region,
        {{ json_text('payload', 'channel') }} as channel,
        _source as source_file,

        -- numerics
        {{ file_number('quantity') }} as quantity,
        {{ file_number('amount') }} as amount_rub,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        {{ to_date(json_text('payload', 'date')) }} as sold_on,
        _loaded_at as loaded_at,
        _modified_at as source_modified_at,
        _deleted_at as deleted_at

    from source

)

select * from renamed
