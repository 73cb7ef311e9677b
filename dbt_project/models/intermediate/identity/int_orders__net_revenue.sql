-- One row per order placed on or before as_of_date, with its refunds (made on or before as_of_date) and
-- net revenue in the reporting currency: completed orders (subtotal - discount - refunds), floored at 0;
-- cancelled orders 0 (DECISIONS.md, Money).
with orders as (
    select *
    from {{ ref('stg_shop__orders') }}
    where order_date <= {{ as_of_date() }}
),

refunds as (
    select
        order_id,
        sum(amount) as refunds,
        count(*) as refund_count
    from {{ ref('stg_shop__refunds') }}
    where refund_date <= {{ as_of_date() }}
    group by order_id
)

select
    orders.*,
    coalesce(refunds.refunds, 0) as refunds,
    coalesce(refunds.refund_count, 0) as refund_count,
    case
        when orders.is_completed
            then greatest(orders.subtotal - orders.discount_total - coalesce(refunds.refunds, 0), 0)
        else 0
    end as net_revenue
from orders
left join refunds
    on orders.order_id = refunds.order_id
