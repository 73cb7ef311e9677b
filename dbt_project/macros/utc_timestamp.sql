{# A timestamptz as a naive UTC timestamp, whatever the session time zone. #}
{% macro utc_timestamp(column) -%}
    {{ return(adapter.dispatch('utc_timestamp')(column)) }}
{%- endmacro %}

{% macro default__utc_timestamp(column) -%}
    cast({{ column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__utc_timestamp(column) -%}
    timezone('UTC', {{ column }})
{%- endmacro %}

{% macro spark__utc_timestamp(column) -%}
    to_utc_timestamp({{ column }}, current_timezone())
{%- endmacro %}
