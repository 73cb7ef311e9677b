-- One row per customer with a purchase and month end, from the first purchase month to the as_of_date
-- month: the CLV inputs with history cut at month_end (last day of the month, or as_of_date in its month).
-- Values are net revenue as known on as_of_date. Scored by the CLV step for customer equity.
with months as (
    select * from {{ ref('int_customer_months__spined') }}
    where first_order_month is not null and month_start >= first_order_month
),

first_day as (
    select customer_id, purchase_value as first_value
    from {{ ref('int_clv__purchase_days') }}
    where purchase_number = 1
)

select
    months.customer_id,
    months.acquisition_channel,
    months.month_end,
    cast(months.cumulative_purchase_days - 1 as {{ dbt.type_int() }}) as frequency,
    {{ days_between('months.first_order_date', 'months.last_order_date') }} as recency_days,
    {{ days_between('months.first_order_date', 'months.month_end') }} as t_days,
    {{ clv_time_units(days_between('months.first_order_date', 'months.last_order_date')) }} as recency,
    {{ clv_time_units(days_between('months.first_order_date', 'months.month_end')) }} as t,
    case
        when months.cumulative_purchase_days > 1
            then (months.cumulative_net_revenue - first_day.first_value) / (months.cumulative_purchase_days - 1)
    end as monetary_value
from months
inner join first_day
    on months.customer_id = first_day.customer_id
