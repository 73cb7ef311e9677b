{# Wall-clock hours between two timestamps, fractional (second precision). #}
{% macro hours_between(start_ts, end_ts) -%}
    ({{ dbt.datediff(start_ts, end_ts, 'second') }} / 3600e0)
{%- endmacro %}
