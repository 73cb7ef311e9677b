-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="customer_month", on_schema_change="fail"
) }}
-- Customer x month spine (Fivetran-style): one row per non-internal customer and calendar month from the
-- month the customer is first known to the as_of_date month, with that month's completed orders and the
-- running history up to month_end (so months without activity still have a row).
-- Incremental (DECISIONS.md, Incremental processing): affected customers' rows are computed again from their
-- orders; every other customer's row of the previous as_of_date month is carried to each month from there to
-- the as_of_date month (none of their orders changed, so only month_end moves and new months repeat the
-- running history with no orders).
with customers as (
    select * from {{ ref('int_customers__resolved') }}
    where not is_internal
    {% if is_incremental() %}and {{ rewritten_rows('customer') }}{% endif %}
),

months as (
    select * from {{ ref('int_calendar__months') }}
),

orders_monthly as (
    select
        customer_id,
        order_month as month_start,
        count(*) as orders,
        {{ exact_sum('net_revenue') }} as net_revenue,
        count(distinct order_date) as purchase_days,
        max(order_date) as last_order_date
    from {{ ref('int_orders__resolved') }}
    where is_completed and not is_internal_customer
    {% if is_incremental() %}and {{ rewritten_rows('customer') }}{% endif %}
    group by customer_id, order_month
),

-- Running history from change points: the window runs over the months with orders only (a sixth of the
-- spine), and each such month's history holds until the customer's next month with orders.
order_months as (
    select
        customer_id,
        month_start,
        orders,
        net_revenue,
        purchase_days,
        last_order_date,
        sum(purchase_days) over (
            partition by customer_id order by month_start rows between unbounded preceding and current row
        ) as cumulative_purchase_days,
        sum(net_revenue) over (
            partition by customer_id order by month_start rows between unbounded preceding and current row
        ) as cumulative_net_revenue,
        coalesce(
            lead(month_start) over (partition by customer_id order by month_start), cast('9999-12-01' as date)
        ) as next_order_month
    from orders_monthly
),

computed as (
    -- months before the first completed order: no history
    select
        customers.customer_id,
        customers.acquisition_channel,
        months.month_start,
        months.month_end,
        customers.first_known_date,
        customers.first_order_date,
        {{ month_start('customers.first_order_date') }} as first_order_month,
        0 as orders,
        cast(0 as {{ type_double() }}) as net_revenue,
        0 as purchase_days,
        cast(null as date) as last_order_date,
        0 as cumulative_purchase_days,
        cast(0 as {{ type_double() }}) as cumulative_net_revenue
    from customers
    inner join months
        on months.month_start >= {{ month_start('customers.first_known_date') }}
        and months.month_start < coalesce({{ month_start('customers.first_order_date') }}, cast('9999-12-01' as date))
    union all
    -- each month with orders, and the months after it until the next one
    select
        customers.customer_id,
        customers.acquisition_channel,
        months.month_start,
        months.month_end,
        customers.first_known_date,
        customers.first_order_date,
        {{ month_start('customers.first_order_date') }} as first_order_month,
        case when months.month_start = order_months.month_start then order_months.orders else 0 end as orders,
        case when months.month_start = order_months.month_start then order_months.net_revenue else 0 end
            as net_revenue,
        case when months.month_start = order_months.month_start then order_months.purchase_days else 0 end
            as purchase_days,
        order_months.last_order_date,
        order_months.cumulative_purchase_days,
        order_months.cumulative_net_revenue
    from order_months
    inner join customers
        on order_months.customer_id = customers.customer_id
    inner join months
        on months.month_start >= order_months.month_start
        and months.month_start < order_months.next_order_month
)
{% if is_incremental() %},

carried as (
    select
        previous.customer_id,
        previous.acquisition_channel,
        months.month_start,
        months.month_end,
        previous.first_known_date,
        previous.first_order_date,
        previous.first_order_month,
        case when months.month_start = previous.month_start then previous.orders else 0 end as orders,
        case when months.month_start = previous.month_start then previous.net_revenue else 0 end as net_revenue,
        case when months.month_start = previous.month_start then previous.purchase_days else 0 end as purchase_days,
        previous.last_order_date,
        previous.cumulative_purchase_days,
        previous.cumulative_net_revenue
    from {{ this }} as previous
    inner join months
        on months.month_start >= previous.month_start
    where previous.month_start = {{ rewrite_from_month() }}
        and not {{ rewritten_rows('customer', key='previous.customer_id') }}
)

select * from computed
union all
select * from carried
{% else %}

select * from computed
{% endif %}
