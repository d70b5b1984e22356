{#- ABC/XYZ class of every category per period over the trailing 12 months as of the
    period end (macro abc_xyz_ctes), from fct_sales_lines (macro abc_xyz_monthly_sales). -#}
with

fct_sales_lines as (

    select * from {{ ref('fct_sales_lines') }}

),

int_periods as (

    select * from {{ ref('int_periods') }}

),

monthly as (

    {{ abc_xyz_monthly_sales('category') }}

),

{{ abc_xyz_ctes('monthly') }},

final as (

    select
        abc_xyz.period_grain,
        abc_xyz.period_start,
        abc_xyz.period_label,
        abc_xyz.entity_id as category,
        {{ abc_xyz_columns('abc_xyz') }}
    from abc_xyz

)

select * from final
