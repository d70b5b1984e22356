{#- 1C OData value cleaning: empty references, empty dates, space-padded strings. -#}

{% macro onec_ref(expr) -%}
    nullif({{ expr }}, '00000000-0000-0000-0000-000000000000')
{%- endmacro %}

{% macro onec_timestamp(expr) -%}
    {{ return(adapter.dispatch('onec_timestamp')(expr)) }}
{%- endmacro %}

{% macro default__onec_timestamp(expr) -%}
    cast(nullif({{ expr }}, '0001-01-01T00:00:00') as timestamp)
{%- endmacro %}

{% macro onec_string(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{% macro onec_bool(expr) -%}
    {{ return(adapter.dispatch('onec_bool')(expr)) }}
{%- endmacro %}

{% macro default__onec_bool(expr) -%}
    coalesce(cast({{ expr }} as boolean), false)
{%- endmacro %}

{#- Person names are matched across systems as «Фамилия Имя», case- and space-insensitive. -#}
{% macro normalize_person_name(expr) -%}
    {{ return(adapter.dispatch('normalize_person_name')(expr)) }}
{%- endmacro %}

{% macro default__normalize_person_name(expr) -%}
    nullif(lower(regexp_replace(trim({{ expr }}), '\s+', ' ', 'g')), '')
{%- endmacro %}

{#- Revenue of a 1C document line: Сумма includes VAT when the document's ЦенаВключаетНДС;
    revenue excludes VAT unless var revenue_includes_vat. -#}
{% macro onec_line_revenue(line, doc) -%}
    {%- if var('revenue_includes_vat') -%}
        ({{ line }}.amount + case when {{ doc }}.price_includes_vat then 0 else {{ line }}.vat_amount end)
    {%- else -%}
        ({{ line }}.amount - case when {{ doc }}.price_includes_vat then {{ line }}.vat_amount else 0 end)
    {%- endif -%}
{%- endmacro %}

{#- The header columns shared by the 1C documents РеализацияТоваровУслуг and
    ВозвратТоваровОтКлиента (same OData shape), read from `doc`.payload of a raw document row;
    the model lists its own id columns before these. -#}
{% macro onec_document_columns(doc, concept='sales_documents') -%}
        {{ onec_ref(hc_onec_text(doc ~ '.payload', concept, 'counterparty', 'Контрагент_Key')) }} as counterparty_id,
        {{ onec_ref(hc_onec_text(doc ~ '.payload', concept, 'partner', 'Партнер_Key')) }} as partner_id,
        {{ onec_ref(hc_onec_text(doc ~ '.payload', concept, 'manager', 'Менеджер_Key')) }} as manager_user_id,
        {{ onec_ref(hc_onec_text(doc ~ '.payload', concept, 'department', 'Подразделение_Key')) }} as department_id,

        -- strings
        {{ onec_string(json_text(doc ~ '.payload', 'Number')) }} as document_number,
        {{ json_text(doc ~ '.payload', 'DataVersion') }} as data_version,

        -- numerics
        {{ dbt.safe_cast(hc_onec_text(doc ~ '.payload', concept, 'amount', 'СуммаДокумента'), dbt.type_numeric()) }} as document_amount,

        -- booleans
        {{ onec_bool(json_text(doc ~ '.payload', 'ЦенаВключаетНДС')) }} as price_includes_vat,
        {{ onec_bool(json_text(doc ~ '.payload', 'Posted')) }} as is_posted,
        {{ onec_bool(json_text(doc ~ '.payload', 'DeletionMark')) }} as is_deletion_marked,
        {{ doc }}._deleted_at is not null as is_deleted,

        -- dates
        {{ onec_timestamp(json_text(doc ~ '.payload', 'Date')) }} as document_at,
        cast({{ onec_timestamp(json_text(doc ~ '.payload', 'Date')) }} as date) as document_date,
        {{ doc }}._loaded_at as loaded_at,
        {{ doc }}._modified_at as source_modified_at,
        {{ doc }}._deleted_at as deleted_at
{%- endmacro %}

{#- The tabular part Товары of a 1C document (sales or return), one row per line: the select
    list and join that unnest `doc`.payload -> 'Товары' of a raw document row into lines.
    line_id (Ref_Key-LineNumber) and document_id name the two id columns. -#}
{% macro onec_document_lines(doc, line_id, document_id, concept='sales_documents') -%}
    select
        -- ids
        {{ dbt.concat([doc ~ '.source_key', "'-'", json_text('line.element', 'LineNumber')]) }} as {{ line_id }},
        {{ doc }}.source_key as {{ document_id }},
        {{ onec_ref(hc_onec_text('line.element', concept, 'product', 'Номенклатура_Key', 'line_fields')) }} as product_id,

        -- strings
        {{ json_text('line.element', 'СтавкаНДС') }} as vat_rate,

        -- numerics
        cast({{ json_text('line.element', 'LineNumber') }} as integer) as line_number,
        {{ dbt.safe_cast(hc_onec_text('line.element', concept, 'quantity', 'Количество', 'line_fields'), dbt.type_numeric()) }} as quantity,
        {{ dbt.safe_cast(json_text('line.element', 'Цена'), dbt.type_numeric()) }} as price,
        {{ dbt.safe_cast(hc_onec_text('line.element', concept, 'amount', 'Сумма', 'line_fields'), dbt.type_numeric()) }} as amount,
        coalesce({{ dbt.safe_cast(hc_onec_text('line.element', concept, 'vat', 'СуммаНДС', 'line_fields'), dbt.type_numeric()) }}, 0) as vat_amount,

        -- dates
        {{ doc }}._loaded_at as loaded_at,
        {{ doc }}._deleted_at as deleted_at

    from {{ doc }}
    {{ json_array_join(json_path(doc ~ '.payload', hc_escaped(hc_onec_lines(concept))), 'line') }}
    where {{ hc_onec_filter(doc ~ '.payload', concept) }}
{%- endmacro %}
