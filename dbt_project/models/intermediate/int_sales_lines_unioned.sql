{#- Every revenue line (1C sales, 1C returns as negative lines, ERP file lines): macro
    sales_lines_unioned in macros/sales_lines.sql, shared with the incremental fct_sales_lines. -#}
{{ sales_lines_unioned() }}
