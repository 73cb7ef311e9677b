{# SLA target hours for a ticket priority from a var mapping {priority: hours}; null for other priorities. #}
{% macro sla_hours(priority_column, var_name) -%}
    case {{ priority_column }}
        {%- for priority, hours in var(var_name).items() %}
        when '{{ priority }}' then {{ hours }}
        {%- endfor %}
    end
{%- endmacro %}
