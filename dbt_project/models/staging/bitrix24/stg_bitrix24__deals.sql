{#- Deals; won / lost by the mapping's stage lists (STAGE_SEMANTIC_ID S / F when they are
    auto) and the kind of the deal's pipeline (new_client / repeat / other), macros/mapping.sql.
    Deals of pipelines the mapping does not name are left out (hc_b24_mapped_pipeline). -#}
{%- set stage = json_text('payload', 'STAGE_ID') -%}
{%- set semantic = json_text('payload', 'STAGE_SEMANTIC_ID') -%}
{%- set deal_won = hc_b24_deal_outcome('won', stage, semantic) -%}
{%- set deal_lost = hc_b24_deal_outcome('lost', stage, semantic) -%}
with

source as (

    select * from {{ source('bitrix24', 'bitrix24__deals') }}

),

renamed as (

    select
        -- ids
        source_key as deal_id,
        coalesce({{ json_text('payload', 'CATEGORY_ID') }}, '0') as category_id,
        {{ json_text('payload', 'STAGE_ID') }} as stage_id,
        {{ to_link(json_text('payload', 'COMPANY_ID')) }} as company_id,
        {{ to_link(json_text('payload', 'ASSIGNED_BY_ID')) }} as assigned_user_id,
        {{ json_text('payload', 'SOURCE_ID') }} as source_id,
        {{ to_link(json_text('payload', 'LEAD_ID')) }} as lead_id,

        -- strings
        {{ json_text('payload', 'TITLE') }} as deal_title,
        {{ hc_b24_stage_semantic(stage, semantic) }} as stage_semantic_id,
        {{ hc_b24_pipeline_kind("coalesce(" ~ json_text('payload', 'CATEGORY_ID') ~ ", '0')") }} as pipeline_kind,
        {{ json_text('payload', 'CURRENCY_ID') }} as currency_id,

        -- numerics
        {{ to_numeric(json_text('payload', 'OPPORTUNITY')) }} as amount,

        -- booleans
        coalesce({{ to_bool(json_text('payload', 'CLOSED')) }}, false) as is_closed,
        {{ deal_won }} as is_won,
        {{ deal_lost }} as is_lost,
        _deleted_at is not null as is_deleted,

        -- dates
        {{ to_timestamptz(json_text('payload', 'DATE_CREATE')) }} as created_at,
        {{ to_timestamptz(json_text('payload', 'DATE_MODIFY')) }} as modified_at,
        {{ to_timestamptz(json_text('payload', 'CLOSEDATE')) }} as closed_at,
        _loaded_at as loaded_at,
        _modified_at as source_modified_at,
        _deleted_at as deleted_at

    from source
    where {{ hc_b24_mapped_pipeline("coalesce(" ~ json_text('payload', 'CATEGORY_ID') ~ ", '0')") }}

)

select * from renamed
