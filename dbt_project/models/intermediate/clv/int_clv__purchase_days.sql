-- One row per customer and purchase day (UTC date with at least one completed order), its value the
-- day's summed net revenue; non-internal customers only (DECISIONS.md, CLV).
select
    orders.customer_id,
    customers.acquisition_channel,
    orders.order_date as purchase_date,
    sum(orders.net_revenue) as purchase_value,
    row_number() over (partition by orders.customer_id order by orders.order_date) as purchase_number
from {{ ref('int_orders__resolved') }} as orders
inner join {{ ref('int_customers__resolved') }} as customers
    on orders.customer_id = customers.customer_id
where orders.is_completed and not customers.is_internal
group by orders.customer_id, customers.acquisition_channel, orders.order_date
