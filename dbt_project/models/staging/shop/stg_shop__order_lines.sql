-- One row per order line (latest export wins). Prices stay in the order's currency (see stg_shop__orders).
with ranked as (
    select
        *,
        row_number() over (partition by line_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'shop_order_lines') }}
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
