{#- A number (file_number) or whole number (file_int) from a user-file row's payload; null on a
    row marked deleted, so a value that was removed from the file (e.g. one too large for the
    column, landed before the landing quarantined such values) can never fail the build. -#}
{% macro file_number(field) -%}
    case when _deleted_at is null then {{ b_to_numeric(b_json_text('payload', field)) }} end
{%- endmacro %}

{% macro file_int(field) -%}
    case when _deleted_at is null then {{ b_to_int(b_json_text('payload', field)) }} end
{%- endmacro %}
