{#- Display order of list values on the dashboards: «Не указан» (an unknown region, channel,
    source or business size) always last. -#}

{#- A segment cell's place in lists: business size крупный, средний, мелкий, any other size,
    «не указан» last; then potential band 1, 2, 3; then ABC class A, B, C. One number per cell
    (e.g. крупный / 1 / A = 111, не указан / 3 / C = 933), the same in every mart. -#}
{% macro segment_order(business_size, potential_band, abc_class) -%}
    (
        case lower({{ business_size }})
            when 'крупный' then 1
            when 'средний' then 2
            when 'мелкий' then 3
            when 'не указан' then 9
            else 4
        end * 100
        + coalesce(cast({{ potential_band }} as integer), 9) * 10
        + case upper({{ abc_class }}) when 'A' then 1 when 'B' then 2 when 'C' then 3 else 9 end
    )
{%- endmacro %}

{#- A value's place in an alphabetical list with «Не указан» (any case) last: 1, 2, ... over the
    whole model (one number per value). -#}
{% macro unknown_last_order(column) -%}
    dense_rank() over (order by lower({{ column }}) = 'не указан' asc, {{ column }} asc)
{%- endmacro %}
