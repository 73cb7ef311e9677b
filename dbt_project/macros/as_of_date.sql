{# The analysis date as a scalar SQL expression. The resolution (var or latest event, DECISIONS.md)
   lives in the model int_as_of_date__resolved; every model reads it through this macro. #}
{% macro as_of_date() -%}
    (select as_of_date from {{ ref('int_as_of_date__resolved') }})
{%- endmacro %}
