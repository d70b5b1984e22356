{#- Rows the loaders refused (ingest_state.quarantine), one row per refused row, as landed. -#}
with

source as (

    select * from {{ source('ingest_state', 'quarantine') }}

),

renamed as (

    select
        -- ids
        id as quarantine_id,
        load_id,

        -- strings
        source,
        file,
        field,
        value,
        reason,

        -- numerics
        row_number,

        -- json
        payload,

        -- dates
        quarantined_at

    from source

)

select * from renamed
