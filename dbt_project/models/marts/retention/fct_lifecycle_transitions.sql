-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
-- One row per customer and month in which the lifecycle stage changed, including the first month the
-- customer appears (from_stage null).
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="customer_month", on_schema_change="fail"
) }}
-- Incremental (DECISIONS.md, Incremental processing): the customer months fct_customer_months rewrote in this
-- build are rewritten here too (a month's transition reads only that row of it).
select
    customer_id,
    month_start,
    is_partial_month,
    acquisition_channel,
    previous_stage as from_stage,
    lifecycle_stage as to_stage,
    days_since_last_order
from {{ ref('fct_customer_months') }}
where (previous_stage is null or previous_stage <> lifecycle_stage)
{% if is_incremental() %}
    and {{ rewritten_rows('customer_month') }}
{% endif %}
