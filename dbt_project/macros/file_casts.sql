{#- A number (file_number) or whole number (file_int) from a user-file row's payload; null on a
    row marked deleted, so a value that was removed from the file (e.g. one too large for the
    column, landed before the landing quarantined such values) can never fail the build.
    The cast stays outermost, so the column keeps the type it had (numeric(28,6)): unit tests
    cast their fixtures to the upstream column's type, and downstream sums keep their scale. -#}
{% macro file_number(field) -%}
    {{ to_numeric("case when _deleted_at is null then " ~ json_text('payload', field) ~ " end") }}
{%- endmacro %}

{% macro file_int(field) -%}
    {{ to_int("case when _deleted_at is null then " ~ json_text('payload', field) ~ " end") }}
{%- endmacro %}
