{# Incremental contract (DECISIONS.md, Incremental processing). The previous build is read from the facts
   themselves (no DAG edge, so no cycle): `_processed_through` is the latest raw `_loaded_at` the build that
   wrote a row had seen. Returns none when any fact is missing or the build is pinned to an as_of_date var:
   then everything counts as affected. #}
{% macro previous_fact(name) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.get_relation(database=target.database, schema='marts', identifier=name)) }}
{%- endmacro %}

{% macro previous_facts() -%}
    {%- set facts = [] -%}
    {%- for name in ['fct_orders', 'fct_tickets', 'fct_customer_months'] -%}
        {%- set relation = previous_fact(name) -%}
        {%- if relation is none or var('as_of_date') -%}{{ return(none) }}{%- endif -%}
        {%- do facts.append(relation) -%}
    {%- endfor -%}
    {{ return(facts) }}
{%- endmacro %}

{# Raw rows loaded since the previous build, less the lookback (var incremental_lookback_hours). #}
{% macro loaded_since_watermark() -%}
    (select previous_watermark is null from {{ ref('int_incremental__state') }})
    or _loaded_at >= (select lookback_from from {{ ref('int_incremental__state') }})
{%- endmacro %}

{# True when this build has no usable previous build to continue from: every row is rewritten. #}
{% macro incremental_rewrite_all() -%}
    (select previous_watermark is null from {{ ref('int_incremental__state') }})
{%- endmacro %}

{# fct_customer_months rows this build rewrites: affected customers, and every customer's months from the
   earlier of the previous and the current as_of_date month (month_end and the stage move with as_of_date). #}
{% macro customer_months_to_rewrite() -%}
    (
        {{ incremental_rewrite_all() }}
        or customer_id in (select customer_id from {{ ref('int_incremental__affected_customers') }})
        or month_start >= (
            select {{ month_start('case when previous_as_of_date < as_of_date then previous_as_of_date else as_of_date end') }}
            from {{ ref('int_incremental__state') }}
        )
    )
{%- endmacro %}
