with

source as (

    select * from {{ source('files', 'files__marketing_spend') }}

),

renamed as (

    select
        -- ids
        source_key as marketing_spend_id,
        {{ json_text('payload', 'source_id') }} as source_id,

        -- numerics
        {{ file_number('spend_rub') }} as spend_rub,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        cast({{ dbt.date_trunc('month', to_date(json_text('payload', 'month'))) }} as date) as spend_month,
        _loaded_at as loaded_at,
        _modified_at as source_modified_at

    from source

)

select * from renamed
