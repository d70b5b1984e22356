with

source as (

    select * from {{ source('files', 'files__nps_answers') }}

),

renamed as (

    select
        -- ids
        source_key as nps_answer_id,
        {{ json_text('payload', 'inn') }} as inn,

        -- strings
        {{ json_text('payload', 'department') }} as department_name,
        _source as source_file,

        -- numerics
        {{ file_int('score') }} as score,

        -- booleans
        _deleted_at is not null as is_deleted,

        -- dates
        {{ to_date(json_text('payload', 'answered_on')) }} as answered_on,
        _loaded_at as loaded_at,
        _modified_at as source_modified_at

    from source

)

select * from renamed
