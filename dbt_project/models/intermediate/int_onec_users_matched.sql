{#- 1C users matched to Bitrix24 users by «Фамилия Имя», case- and space-insensitive.
    A name that matches several Bitrix24 users takes the smallest user id. -#}
with

stg_bitrix24__users as (

    select * from {{ ref('stg_bitrix24__users') }}

),

onec_users as (

    select * from {{ ref('stg_onec__users') }}
    where not is_deleted

),

bitrix24_users as (

    select
        bitrix24_user.user_id,
        bitrix24_user.department_id,
        {{ normalize_person_name(dbt.concat(['bitrix24_user.last_name', "' '", 'bitrix24_user.first_name'])) }}
            as full_name_normalized
    from stg_bitrix24__users as bitrix24_user
    where not bitrix24_user.is_deleted

),

candidates as (

    select
        onec_users.user_id as onec_user_id,
        bitrix24_users.user_id as manager_id,
        bitrix24_users.department_id as department_id,
        row_number() over (
            partition by onec_users.user_id
            order by length(bitrix24_users.user_id), bitrix24_users.user_id
        ) as match_rank
    from onec_users
    inner join bitrix24_users
        on onec_users.full_name_normalized = bitrix24_users.full_name_normalized

)

select
    candidates.onec_user_id,
    candidates.manager_id,
    {{ dbt.safe_cast('candidates.department_id', dbt.type_string()) }} as department_id
from candidates
where candidates.match_rank = 1
