-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="customer_month_end", on_schema_change="fail"
) }}
-- One row per customer with a purchase and month end, from the first purchase month to the as_of_date
-- month: the CLV inputs with history cut at month_end (last day of the month, or as_of_date in its month).
-- Values are net revenue as known on as_of_date. Scored by the CLV step for customer equity.
-- Incremental (DECISIONS.md, Incremental processing): affected customers' rows are computed again; every other
-- customer's row of the previous as_of_date month is carried to the months from there on (no purchase of
-- theirs changed: only t moves with month_end).
with months as (
    select * from {{ ref('int_customer_months__spined') }}
    where first_order_month is not null and month_start >= first_order_month
    {% if is_incremental() %}and {{ rewritten_rows('customer') }}{% endif %}
),

-- The first purchase day's value: the completed orders on the customer's first completed-order date.
first_day as (
    select orders.customer_id, sum(orders.net_revenue) as first_value
    from {{ ref('int_orders__resolved') }} as orders
    inner join {{ ref('int_customers__resolved') }} as customers
        on orders.customer_id = customers.customer_id
        and orders.order_date = customers.first_order_date
    where orders.is_completed and not customers.is_internal
    {% if is_incremental() %}and {{ rewritten_rows('customer', key='orders.customer_id') }}{% endif %}
    group by orders.customer_id
),

computed as (
    select
        months.customer_id,
        months.acquisition_channel,
        months.month_end,
        cast(months.cumulative_purchase_days - 1 as {{ dbt.type_int() }}) as frequency,
        {{ days_between('months.first_order_date', 'months.last_order_date') }} as recency_days,
        {{ days_between('months.first_order_date', 'months.month_end') }} as t_days,
        {{ clv_time_units(days_between('months.first_order_date', 'months.last_order_date')) }} as recency,
        {{ clv_time_units(days_between('months.first_order_date', 'months.month_end')) }} as t,
        -- The two sums in whole millionths: a sum of doubles differs in its last bits with the order the engine
        -- adds in (DuckDB and Spark, an incremental and a full build), and the CLV fit moves with them.
        -- Integer-valued doubles subtract and divide exactly alike on every engine.
        case
            when months.cumulative_purchase_days > 1
                then (round(months.cumulative_net_revenue * 1e6, 0) - round(first_day.first_value * 1e6, 0))
                / (1e6 * (months.cumulative_purchase_days - 1))
        end as monetary_value
    from months
    inner join first_day
        on months.customer_id = first_day.customer_id
)
{% if is_incremental() %},

carried as (
    select
        months.customer_id,
        months.acquisition_channel,
        months.month_end,
        previous.frequency,
        previous.recency_days,
        {{ days_between('months.first_order_date', 'months.month_end') }} as t_days,
        previous.recency,
        {{ clv_time_units(days_between('months.first_order_date', 'months.month_end')) }} as t,
        previous.monetary_value
    from {{ ref('int_customer_months__spined') }} as months
    inner join {{ this }} as previous
        on months.customer_id = previous.customer_id
    where months.month_start >= {{ rewrite_from_month() }}
        and previous.month_end >= {{ rewrite_from_month() }}
        and previous.month_end < {{ dbt.dateadd('month', 1, rewrite_from_month()) }}
        and not {{ rewritten_rows('customer', key='previous.customer_id') }}
)

select * from computed
union all
select * from carried
{% else %}

select * from computed
{% endif %}
