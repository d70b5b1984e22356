{#- Post-hook of every marts model: grant SELECT to Superset's reader role and put the row policy
    on the table, in the transaction that builds it (hc_base/warehouse_access.py). Does
    nothing where the product has not set up happyclient_rls (then the table is simply not granted). -#}
{% macro happyclient_secure_relation() %}
    {%- if execute and target.type == 'postgres' and config.get('materialized') in ('table', 'incremental', 'view') -%}
        do $$ begin
            if to_regprocedure('happyclient_rls.secure_table(regclass)') is not null then
                perform happyclient_rls.secure_table('{{ this.include(database=False) }}'::regclass);
            end if;
        end $$
    {%- endif -%}
{% endmacro %}
