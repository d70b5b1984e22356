{#- ABC/XYZ class of every category per period over the trailing 12 months as of the
    period end (macro abc_xyz_ctes), from fct_sales_lines. -#}
with

periods as (

    select * from {{ ref('int_periods') }}

),

monthly as (

    select
        fct.category as entity_id,
        {{ period_start_of('month', 'fct.document_date') }} as month_start,
        sum(fct.revenue) as revenue
    from {{ ref('fct_sales_lines') }} as fct
    where fct.document_date <= {{ as_of_date() }}
    group by fct.category, {{ period_start_of('month', 'fct.document_date') }}

),

{{ abc_xyz_ctes('monthly', 'periods') }},

final as (

    select
        abc_xyz.period_grain,
        abc_xyz.period_start,
        abc_xyz.period_label,
        abc_xyz.entity_id as category,

        abc_xyz.abc_class,
        abc_xyz.xyz_class,
        {{ dbt.concat(['abc_xyz.abc_class', 'abc_xyz.xyz_class']) }} as abc_xyz_class,
        abc_xyz.revenue_t12,
        abc_xyz.revenue_rank,
        abc_xyz.revenue_share,
        abc_xyz.cumulative_share,
        abc_xyz.revenue_cv
    from abc_xyz

)

select * from final
