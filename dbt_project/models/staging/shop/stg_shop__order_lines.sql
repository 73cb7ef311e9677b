-- One row per order line (latest export wins). Prices stay in the order's currency (see stg_shop__orders).
-- A table like the rest of staging: as a view, at 1M customers (17.6M lines) fct_orders and the two tests each
-- deduped it again under the memory limit (fct_orders 431 s, tests 92 s wall, against 216 s + 126 s to write
-- the table + 15 s of tests; load average ~10, so rough).
-- Incremental: lines exported since the watermark are deduped again from every copy of them.
-- depends_on: {{ ref('int_incremental__state') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="raw_order_line", on_schema_change="fail"
) }}
{% set raw_lines %}
    {%- if is_incremental() -%}
    (select * from {{ source('raw', 'shop_order_lines') }} where {{ rewritten_rows('raw_order_line') }})
    {%- else -%}
    {{ source('raw', 'shop_order_lines') }}
    {%- endif -%}
{% endset %}
with ranked as (
    {{ latest_copy(raw_lines, ['line_id'], ['_file desc', '_line desc']) }}
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
