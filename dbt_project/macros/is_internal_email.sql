{# True when a normalised email is at one of the internal/test domains (var internal_email_domains). #}
{% macro is_internal_email(email_column) -%}
    {%- set domains = var('internal_email_domains', []) -%}
    {%- if domains | length == 0 -%}
    false
    {%- else -%}
    coalesce(
        {%- for domain in domains %}
        {{ email_column }} like '%@{{ domain | lower }}'{{ ' or' if not loop.last }}
        {%- endfor %}
    , false)
    {%- endif -%}
{%- endmacro %}
