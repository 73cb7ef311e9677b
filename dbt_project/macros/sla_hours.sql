{# SLA target hours for a ticket priority from a mapping {priority: hours} (a var); null for other priorities. #}
{% macro sla_hours(priority_column, hours_by_priority) -%}
    case {{ priority_column }}
        {%- for priority, hours in hours_by_priority.items() %}
        when '{{ priority }}' then {{ hours }}
        {%- endfor %}
    end
{%- endmacro %}
