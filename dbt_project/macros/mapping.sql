{#- The company's mapping (ingestion/mapping.py, config/mapping.yml): staging reads each concept
    through the hc_* vars the pipeline passes (`ingestion.mapping.dbt_vars`); their defaults in
    dbt_project.yml are the demo's names. Names from the mapping reach SQL only as quoted literals. -#}

{% macro hc_literal(value) -%}
    '{{ hc_escaped(value) }}'
{%- endmacro %}

{#- `value` with its single quotes doubled, for a key inside a JSON access macro's literal. -#}
{% macro hc_escaped(value) -%}
    {{ value | string | replace("'", "''") }}
{%- endmacro %}

{#- A Bitrix24 company concept (region, channel, potential, size) read from `payload`: the
    mapped UF field (its list item ids turned into names); null when unmapped or when it comes
    from the requisite's address (int_bitrix24_companies_mapped fills those). -#}
{% macro hc_b24_company_concept(payload, concept) -%}
    {%- set fields = var('hc_b24_company_fields') or {} -%}
    {%- set values = (var('hc_b24_company_values') or {}).get(concept) or {} -%}
    {%- if concept in hc_b24_address_concepts() -%}
        cast(null as text)
    {%- elif concept in fields and fields[concept] -%}
        {%- set raw = json_text(payload, hc_escaped(fields[concept])) -%}
        {%- if values -%}
            case {{ raw }}
                {%- for item_id, name in values.items() %}
                when {{ hc_literal(item_id) }} then {{ hc_literal(name) }}
                {%- endfor %}
                else {{ raw }}
            end
        {%- else -%}
            {{ raw }}
        {%- endif -%}
    {%- else -%}
        cast(null as text)
    {%- endif -%}
{%- endmacro %}

{#- Concept -> {part, type} of the concepts read from the requisite's address. -#}
{% macro hc_b24_address_concepts() -%}
    {{ return(var('hc_b24_company_address') or {}) }}
{%- endmacro %}

{#- `relation` (staged companies, alias = relation) and, per concept read from the requisite's
    address, a join of address_<concept>: the company's first requisite (by ID) whose address of
    the mapped type has that part filled (a company-level address, ENTITY_TYPE_ID 4, after the
    requisites'). Just `relation` when no concept comes from an address. `addresses` and
    `requisites`: the model's import CTEs of stg_bitrix24__addresses / stg_bitrix24__requisites. -#}
{% macro hc_b24_company_address_joins(relation, addresses='stg_bitrix24__addresses', requisites='stg_bitrix24__requisites') -%}
    {{ relation }}
    {%- for concept, spec in hc_b24_address_concepts().items() %}
    {%- set part = spec['part'] | lower %}
    {%- if part not in ('address_1', 'address_2', 'city', 'postal_code', 'region', 'province', 'country', 'country_code') %}
        {{ exceptions.raise_compiler_error("hc_b24_company_address: unknown address part " ~ spec['part']) }}
    {%- endif %}
    left join (
        select
            ranked.company_id,
            ranked.address_value
        from (
            select
                coalesce(requisites.company_id, addresses.company_id) as company_id,
                addresses.{{ part }} as address_value,
                row_number() over (
                    partition by coalesce(requisites.company_id, addresses.company_id)
                    order by
                        requisites.requisite_id is null,
                        cast(requisites.requisite_id as bigint),
                        addresses.type_id
                ) as address_rank
            from {{ addresses }} as addresses
            left join {{ requisites }} as requisites
                on
                    addresses.requisite_id = requisites.requisite_id
                    and not requisites.is_deleted
            where
                not addresses.is_deleted
                and coalesce(requisites.company_id, addresses.company_id) is not null
                and addresses.{{ part }} is not null
                {%- if spec['type'] %}
                and addresses.type_id = {{ hc_literal(spec['type']) }}
                {%- endif %}
        ) as ranked
        where ranked.address_rank = 1
    ) as address_{{ concept }}
        on {{ relation }}.company_id = address_{{ concept }}.company_id
    {%- endfor %}
{%- endmacro %}

{#- A company column of `relation` (staged companies) or, when the mapping takes `concept` from
    the requisite's address, the joined address_<concept>.address_value (through `cast`, a macro
    name, e.g. to_numeric for potential). -#}
{% macro hc_b24_company_column(relation, column, concept, cast=none) -%}
    {%- if concept in hc_b24_address_concepts() -%}
        {%- set value = 'address_' ~ concept ~ '.address_value' -%}
        {%- if cast == 'lower' -%}
            {{ lower_text(value) }}
        {%- elif cast == 'numeric' -%}
            {{ to_numeric(value) }}
        {%- else -%}
            {{ value }}
        {%- endif -%}
    {%- else -%}
        {{ relation }}.{{ column }}
    {%- endif -%}
{%- endmacro %}

{#- The case expression of a deal's STAGE_SEMANTIC_ID by the mapping: S when won, F when lost,
    P for a stage the portal calls S / F that the mapping's lists leave out, else the portal's. -#}
{% macro hc_b24_stage_semantic(stage_expr, semantic_expr) -%}
    case
        when {{ hc_b24_deal_outcome('won', stage_expr, semantic_expr) }} then 'S'
        when {{ hc_b24_deal_outcome('lost', stage_expr, semantic_expr) }} then 'F'
        {%- if var('hc_b24_won_stages') or var('hc_b24_lost_stages') %}
        when {{ semantic_expr }} in ('S', 'F') then 'P'
        {%- endif %}
        else {{ semantic_expr }}
    end
{%- endmacro %}

{#- A SQL list of quoted ids, for `in (...)`. -#}
{% macro hc_in_list(values) -%}
    ({% for v in values %}{{ hc_literal(v) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#- Is the deal in `stage_expr` (semantic `semantic_expr`) won / lost: the mapping's stage list,
    or STAGE_SEMANTIC_ID S / F when the list is empty (auto). -#}
{% macro hc_b24_deal_outcome(outcome, stage_expr, semantic_expr) -%}
    {%- set stages = var('hc_b24_' ~ outcome ~ '_stages') or [] -%}
    {%- if stages -%}
        coalesce({{ stage_expr }} in {{ hc_in_list(stages) }}, false)
    {%- else -%}
        coalesce({{ semantic_expr }} = {{ hc_literal('S' if outcome == 'won' else 'F') }}, false)
    {%- endif -%}
{%- endmacro %}

{#- new_client / repeat / other: the kind of a deal's pipeline (CATEGORY_ID) by the mapping. -#}
{% macro hc_b24_pipeline_kind(category_expr) -%}
    {%- set new_client = var('hc_b24_new_client_pipelines') or [] -%}
    {%- set repeat = var('hc_b24_repeat_pipelines') or [] -%}
    case
        {%- if new_client %}
        when {{ category_expr }} in {{ hc_in_list(new_client) }} then 'new_client'
        {%- endif %}
        {%- if repeat %}
        when {{ category_expr }} in {{ hc_in_list(repeat) }} then 'repeat'
        {%- endif %}
        else 'other'
    end
{%- endmacro %}

{#- Deals of the pipelines the mapping names (new-client and repeat); every deal when it names none.
    Deals of other pipelines are left out (README «Review the mapping»). -#}
{% macro hc_b24_mapped_pipeline(category_expr) -%}
    {%- set pipelines = (var('hc_b24_new_client_pipelines') or []) + (var('hc_b24_repeat_pipelines') or []) -%}
    {%- if pipelines -%}
        {{ category_expr }} in {{ hc_in_list(pipelines) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- A lead / deal source's name: the mapping's channel for that SOURCE_ID, else `name_expr`. -#}
{% macro hc_b24_source_channel(source_id_expr, name_expr) -%}
    {%- set channels = var('hc_b24_lead_source_channels') or {} -%}
    {%- if channels -%}
        case {{ source_id_expr }}
            {%- for source_id, channel in channels.items() %}
            when {{ hc_literal(source_id) }} then {{ hc_literal(channel) }}
            {%- endfor %}
            else {{ name_expr }}
        end
    {%- else -%}
        {{ name_expr }}
    {%- endif -%}
{%- endmacro %}

{#- The 1C configuration's spec of a concept (sales_documents, returns, counterparties, ...):
    {entity, lines, fields, line_fields[, filter]}; {} when the mapping gives none (УТ 11 names). -#}
{% macro hc_onec_spec(concept) -%}
    {{ return((var('hc_onec_entities') or {}).get(concept) or {}) }}
{%- endmacro %}

{#- The text of 1C field `name` of `concept` in `payload`: the profile's / mapping's field name,
    `default` (the УТ 11 name) when the mapping does not name it, null when the configuration has
    no such field (e.g. Партнер_Key in БП 3.0). `part` = 'line_fields' for a tabular-part field. -#}
{% macro hc_onec_text(payload, concept, name, default, part='fields') -%}
    {%- set fields = hc_onec_spec(concept).get(part) or {} -%}
    {%- if name in fields and fields[name] is none -%}
        cast(null as text)
    {%- else -%}
        {{ json_text(payload, hc_escaped(fields.get(name) or default)) }}
    {%- endif -%}
{%- endmacro %}

{#- The tabular part of `concept`'s documents (Товары in УТ 11, Запасы in УНФ). -#}
{% macro hc_onec_lines(concept) -%}
    {{ return(hc_onec_spec(concept).get('lines') or 'Товары') }}
{%- endmacro %}

{#- The profile's filter of `concept` (`Field eq 'Value'`, as in ingestion/mapping.py), as a SQL
    condition on `payload`; true when there is none. -#}
{% macro hc_onec_filter(payload, concept) -%}
    {%- set text = hc_onec_spec(concept).get('filter') -%}
    {%- if text -%}
        {%- set parts = text.split(' eq ', 1) -%}
        {%- if parts | length != 2 -%}
            {{ exceptions.raise_compiler_error("onec filter of " ~ concept ~ " must be Field eq 'Value', got " ~ text) }}
        {%- endif -%}
        {{ json_text(payload, hc_escaped(parts[0] | trim)) }} = {{ hc_literal(parts[1] | trim | replace("'", "")) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
