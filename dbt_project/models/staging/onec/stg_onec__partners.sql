with

source as (

    select * from {{ source('onec', 'onec__partners') }}

),

renamed as (

    select
        -- ids
        source.source_key as partner_id,
        {{ onec_ref(hc_onec_text('source.payload', 'partners', 'region', 'БизнесРегион_Key')) }} as business_region_id,
        {{ onec_ref(
            hc_onec_text('source.payload', 'partners', 'manager', 'ОсновнойМенеджер_Key')
        ) }} as main_manager_user_id,

        -- strings
        {{ onec_string(json_text('source.payload', 'Description')) }} as partner_name,
        {{ onec_string(hc_onec_text('source.payload', 'partners', 'channel', 'КаналСбыта')) }} as sales_channel,

        -- booleans
        {{ onec_bool(json_text('source.payload', 'DeletionMark')) }} as is_deletion_marked,
        source._deleted_at is not null as is_deleted,

        -- dates
        source._loaded_at as loaded_at,
        source._modified_at as source_modified_at

    from source

)

select * from renamed
