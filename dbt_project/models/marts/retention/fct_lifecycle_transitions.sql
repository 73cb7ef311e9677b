-- One row per customer and month in which the lifecycle stage changed, including the first month the
-- customer appears (from_stage null).
select
    customer_id,
    month_start,
    is_partial_month,
    acquisition_channel,
    previous_stage as from_stage,
    lifecycle_stage as to_stage,
    days_since_last_order
from {{ ref('fct_customer_months') }}
where previous_stage is null or previous_stage <> lifecycle_stage
