-- One row per order line (latest export wins). Prices stay in the order's currency (see stg_shop__orders).
-- A view, unlike the rest of staging: only fct_orders and its tests read it, and writing 17M lines (1M
-- customers) cost more than deduping them twice (the not_null test's filter is pushed below the dedupe).
{{ config(materialized="view") }}
with ranked as (
    {{ latest_copy(source('raw', 'shop_order_lines'), ['line_id'], ['_file desc', '_line desc']) }}
)

select
    line_id,
    order_id,
    product_id,
    quantity,
    unit_price,
    quantity * unit_price as line_amount_local,
    _file as source_file,
    _line as source_line
from ranked
where copy_rank = 1
