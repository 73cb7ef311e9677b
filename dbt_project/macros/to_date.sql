{# Calendar date of a (UTC) timestamp or date expression. #}
{% macro to_date(expression) -%}
    cast({{ expression }} as date)
{%- endmacro %}

{# First day of the month of a date, as a date. #}
{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}

{# Last day of the month of a date, as a date. #}
{% macro month_last_day(expression) -%}
    cast({{ dbt.last_day(expression, 'month') }} as date)
{%- endmacro %}

{# Whole periods of `unit_days` days between two dates (floor), as an integer. #}
{% macro whole_periods(start_date, end_date, unit_days) -%}
    cast(floor({{ dbt.datediff(start_date, end_date, 'day') }} / ({{ unit_days }} * 1e0)) as {{ dbt.type_int() }})
{%- endmacro %}
