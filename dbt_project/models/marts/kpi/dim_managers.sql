{#- Managers = Bitrix24 users, with their department and the 1C user matched by «Фамилия Имя». -#}
with

int_onec_users_matched as (

    select * from {{ ref('int_onec_users_matched') }}

),

dim_departments as (

    select * from {{ ref('dim_departments') }}

),

users as (

    select * from {{ ref('stg_bitrix24__users') }}

),

onec_matches as (

    select
        user_matches.manager_id,
        min(user_matches.onec_user_id) as onec_user_key
    from int_onec_users_matched as user_matches
    group by user_matches.manager_id

),

final as (

    select
        -- ids
        users.user_id as manager_id,
        users.department_id as department_id,
        onec_matches.onec_user_key as onec_user_key,

        -- strings
        coalesce(users.full_name, {{ dbt.concat(["'Пользователь '", 'users.user_id']) }}) as manager_name,
        departments.department_name as department_name,
        users.email as email,
        users.work_position as work_position,

        -- booleans
        users.is_active and not users.is_deleted as is_active

    from users
    left join dim_departments as departments
        on users.department_id = departments.department_id
    left join onec_matches
        on users.user_id = onec_matches.manager_id

)

select * from final
