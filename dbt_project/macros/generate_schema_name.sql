{# Use the layer's schema name as-is (staging, intermediate, marts) instead of prefixing the target
   schema, so BI and the publish step find marts in a stable `marts` schema. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
