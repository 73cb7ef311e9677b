{# The rows of `relation` with a `copy_rank` column: 1 for the copy to keep of each `key` (a list of columns),
   ranked by `order_by`, as row_number() over (partition by key order by order_by) would number them. Only keys
   exported more than once go through the window: most keys have one copy, and a window over the whole raw
   table sorts and holds every row and column (17M order lines at 1M customers) to find the few duplicates.
   Keys are never null (raw_schema.py requires them). #}
{% macro latest_copy(relation, key, order_by) -%}
    {%- set on = [] -%}
    {%- for column in key %}{% do on.append('copies.' ~ column ~ ' = duplicated.' ~ column) %}{% endfor -%}
    select copies.*, 1 as copy_rank
    from {{ relation }} as copies
    left join (
        select {{ key | join(', ') }} from {{ relation }} group by {{ key | join(', ') }} having count(*) > 1
    ) as duplicated
        on {{ on | join(' and ') }}
    where duplicated.{{ key[0] }} is null
    union all
    select *
    from (
        select
            copies.*,
            row_number() over (
                partition by {% for column in key %}copies.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
                order by {% for column in order_by %}copies.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
            ) as copy_rank
        from {{ relation }} as copies
        inner join (
            select {{ key | join(', ') }} from {{ relation }} group by {{ key | join(', ') }} having count(*) > 1
        ) as duplicated
            on {{ on | join(' and ') }}
    ) as ranked_duplicates
{%- endmacro %}
