{#- The record id of a client in the generic ERP sales file (int_client_identity, the file lines
    of sales_lines_unioned): the ИНН when the line has one, else the client's code in the ERP
    (payload key client_code, mapped through FILES_MAPPING), else its name, so that clients
    without an ИНН (individuals, foreign buyers, retail) keep their own identity
    'file:<ИНН, code or name>' instead of collapsing into one. A line with none of the three
    is 'без ИНН'. -#}
{% macro file_client_record_key(line) -%}
    coalesce({{ line }}.inn, {{ line }}.client_code, {{ line }}.client_name, 'без ИНН')
{%- endmacro %}
