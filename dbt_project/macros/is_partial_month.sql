{# True for a month whose month_end (its last day, or as_of_date in the as_of_date month) is before its last day:
   the as_of_date month, not over yet, whose counts and revenue cover only the days to as_of_date. #}
{% macro is_partial_month(month_start, month_end) -%}
    cast({{ month_end }} < {{ month_last_day(month_start) }} as {{ dbt.type_boolean() }})
{%- endmacro %}
