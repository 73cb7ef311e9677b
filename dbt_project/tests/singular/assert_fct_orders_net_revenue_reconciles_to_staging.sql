-- Net revenue per order in fct_orders = orders minus refunds recomputed from staging: completed orders on or
-- before as_of_date, greatest(subtotal - discount - refunds made by as_of_date, 0); cancelled orders 0.
-- Only internal customers' orders may be missing from fct_orders. Returns the orders that disagree.
-- Whole-table reconciliation: runs with var full_checks (weekly) and on a full refresh (macro full_checks).
-- depends_on: {{ ref('fct_orders') }}
-- depends_on: {{ ref('int_orders__resolved') }}
-- depends_on: {{ ref('stg_shop__orders') }}
-- depends_on: {{ ref('stg_shop__refunds') }}
{% if full_checks() %}
with refunds as (
    select order_id, sum(amount) as refunds
    from {{ ref('stg_shop__refunds') }}
    where refund_date <= {{ as_of_date() }}
    group by order_id
),

expected as (
    select
        orders.order_id,
        case
            when orders.status <> 'cancelled'
                then greatest(orders.subtotal - orders.discount_total - coalesce(refunds.refunds, 0), 0)
            else 0
        end as net_revenue
    from {{ ref('stg_shop__orders') }} as orders
    left join refunds on orders.order_id = refunds.order_id
    where orders.order_date <= {{ as_of_date() }}
        and orders.order_id not in (
            select order_id from {{ ref('int_orders__resolved') }} where is_internal_customer
        )
)

select
    coalesce(expected.order_id, actual.order_id) as order_id,
    expected.net_revenue as expected_net_revenue,
    actual.net_revenue as actual_net_revenue
from expected
full outer join {{ ref('fct_orders') }} as actual
    on expected.order_id = actual.order_id
where expected.order_id is null
    or actual.order_id is null
    or abs(expected.net_revenue - actual.net_revenue) > 1e-6
{% else %}
select 1 as not_checked_on_an_increment where 1 = 0
{% endif %}
