{#- NPS survey answers classified into promoters, passives and detractors, linked to the client
    (by ИНН) and to the Bitrix24 department (by name, case-insensitive). -#}
with

int_client_identity as (

    select * from {{ ref('int_client_identity') }}

),

answers as (

    select * from {{ ref('stg_files__nps_answers') }}
    where not is_deleted

),

dim_departments as (

    select * from {{ ref('dim_departments') }}
    where not is_deleted

),

clients_by_inn as (

    select
        client_identity.inn,
        min(client_identity.client_id) as client_id
    from int_client_identity as client_identity
    where client_identity.inn is not null
    group by client_identity.inn

),

departments as (

    select
        {{ lower_text('trim(dim_departments.department_name)') }} as department_key,
        min(dim_departments.department_id) as department_id
    from dim_departments
    group by {{ lower_text('trim(dim_departments.department_name)') }}

),

final as (

    select
        -- ids
        answers.nps_answer_id as nps_answer_id,
        clients_by_inn.client_id as client_id,
        departments.department_id as department_id,
        answers.inn as inn,

        -- strings
        answers.department_name as department_name,
        case
            when answers.score >= {{ var('nps_promoter_min_score') }} then 'promoter'
            when answers.score <= {{ var('nps_detractor_max_score') }} then 'detractor'
            else 'passive'
        end as nps_category,
        answers.source_file as source_file,

        -- numerics
        answers.score as score,

        -- booleans
        answers.score >= {{ var('nps_promoter_min_score') }} as is_promoter,
        answers.score <= {{ var('nps_detractor_max_score') }} as is_detractor,

        -- dates
        answers.answered_on as answered_on

    from answers
    left join clients_by_inn
        on answers.inn = clients_by_inn.inn
    left join departments
        on {{ lower_text('trim(answers.department_name)') }} = departments.department_key

)

select * from final
