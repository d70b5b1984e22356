{#- Bitrix24 departments with their parent: the department level of the KPI hierarchy. -#}
with

departments as (

    select * from {{ ref('stg_bitrix24__departments') }}

),

final as (

    select
        -- ids
        departments.department_id as department_id,
        departments.parent_department_id as parent_department_id,
        departments.head_user_id as head_user_id,

        -- strings
        departments.department_name as department_name,
        parent.department_name as parent_department_name,

        -- booleans
        departments.is_deleted as is_deleted,
        departments.parent_department_id is null as is_root

    from departments
    left join departments as parent
        on departments.parent_department_id = parent.department_id

)

select * from final
