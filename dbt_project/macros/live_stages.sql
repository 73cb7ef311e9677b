{# Lifecycle stages in which a customer counts as live (DECISIONS.md, Customer flows). #}
{% macro live_stages() -%}
    ('new', 'active', 'at_risk', 'reactivated')
{%- endmacro %}
