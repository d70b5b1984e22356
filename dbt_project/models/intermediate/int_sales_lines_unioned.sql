{#- Every revenue line (1C sales, 1C returns as negative lines, ERP file lines): the logic is the
    macro sales_lines_unioned_ctes in macros/sales_lines.sql, shared with the incremental
    fct_sales_lines, over the import CTEs below. -#}
with

onec_identity as (

    select * from {{ ref('int_client_identity') }}
    where source_system = 'onec'

),

file_identity as (

    select * from {{ ref('int_client_identity') }}
    where source_system = 'file'

),

int_onec_users_matched as (

    select * from {{ ref('int_onec_users_matched') }}

),

stg_onec__partners as (

    select * from {{ ref('stg_onec__partners') }}

),

stg_onec__business_regions as (

    select * from {{ ref('stg_onec__business_regions') }}

),

stg_onec__sales_documents as (

    select * from {{ ref('stg_onec__sales_documents') }}

),

stg_onec__sales_lines as (

    select * from {{ ref('stg_onec__sales_lines') }}

),

stg_onec__returns as (

    select * from {{ ref('stg_onec__returns') }}

),

stg_onec__return_lines as (

    select * from {{ ref('stg_onec__return_lines') }}

),

stg_files__sales_lines as (

    select * from {{ ref('stg_files__sales_lines') }}

),

stg_bitrix24__users as (

    select * from {{ ref('stg_bitrix24__users') }}

),

{{ sales_lines_unioned_ctes() }}

select * from sales_lines_unioned
