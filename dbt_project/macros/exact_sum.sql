{# A sum of money that is the same whatever order the engine adds in: each amount in whole 1e-8 units (an
   integer-valued double, exact below 2^53, i.e. 90 million per sum), the integers added exactly, divided back.
   A plain sum of doubles differs in its last bits from run to run on a parallel engine, so an incremental
   build that recomputes a customer would change rows whose meaning did not change (and the publish, which
   shares unchanged months with the previous build, would write them again). Each amount moves by at most
   5e-9. #}
{% macro exact_sum(expression) -%}
    sum(round({{ expression }} * 1e8, 0)) / 1e8
{%- endmacro %}
