-- Customer x month spine (Fivetran-style): one row per non-internal customer and calendar month from the
-- month the customer is first known to the as_of_date month, with that month's completed orders and the
-- running history up to month_end (so months without activity still have a row).
with customers as (
    select * from {{ ref('int_customers__resolved') }}
    where not is_internal
),

months as (
    select * from {{ ref('int_calendar__months') }}
),

orders_monthly as (
    select
        customer_id,
        order_month as month_start,
        count(*) as orders,
        sum(net_revenue) as net_revenue,
        count(distinct order_date) as purchase_days,
        max(order_date) as last_order_date
    from {{ ref('int_orders__resolved') }}
    where is_completed and not is_internal_customer
    group by customer_id, order_month
),

spine as (
    select
        customers.customer_id,
        customers.acquisition_channel,
        customers.first_known_date,
        customers.first_order_date,
        {{ month_start('customers.first_order_date') }} as first_order_month,
        months.month_start,
        months.month_end
    from customers
    inner join months
        on months.month_start >= {{ month_start('customers.first_known_date') }}
)

select
    spine.customer_id,
    spine.acquisition_channel,
    spine.month_start,
    spine.month_end,
    spine.first_known_date,
    spine.first_order_date,
    spine.first_order_month,
    coalesce(orders_monthly.orders, 0) as orders,
    coalesce(orders_monthly.net_revenue, 0) as net_revenue,
    coalesce(orders_monthly.purchase_days, 0) as purchase_days,
    max(orders_monthly.last_order_date) over (
        partition by spine.customer_id order by spine.month_start rows between unbounded preceding and current row
    ) as last_order_date,
    sum(coalesce(orders_monthly.purchase_days, 0)) over (
        partition by spine.customer_id order by spine.month_start rows between unbounded preceding and current row
    ) as cumulative_purchase_days,
    sum(coalesce(orders_monthly.net_revenue, 0)) over (
        partition by spine.customer_id order by spine.month_start rows between unbounded preceding and current row
    ) as cumulative_net_revenue
from spine
left join orders_monthly
    on spine.customer_id = orders_monthly.customer_id
    and spine.month_start = orders_monthly.month_start
