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

{# Whole days from one date to another, as a bigint. #}
{% macro days_between(start_date, end_date) -%}
    cast({{ dbt.datediff(start_date, end_date, 'day') }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{# A count of days in CLV time units (var clv_time_unit_days, 7 = weeks): days / unit, fractional, never
   floored (DECISIONS.md, CLV: whole units bias the fit). #}
{% macro clv_time_units(days) -%}
    cast({{ days }} / cast({{ var('clv_time_unit_days') }} as {{ type_double() }}) as {{ type_double() }})
{%- endmacro %}
