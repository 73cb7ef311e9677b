-- One row per customer with a completed order: the BG/NBD / Gamma-Gamma inputs as of as_of_date, measured
-- in days (recency_days, t_days: the resolution, and the key the CLV step compresses and scores on) and in
-- time units of clv_time_unit_days (recency, t = days / unit: weeks to the day; DECISIONS.md, CLV).
with purchase_days as (
    select * from {{ ref('int_clv__purchase_days') }}
),

per_customer as (
    select
        customer_id,
        acquisition_channel,
        count(*) - 1 as frequency,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        sum(purchase_value) as total_value,
        sum(case when purchase_number = 1 then purchase_value else 0 end) as first_value
    from purchase_days
    group by customer_id, acquisition_channel
)

select
    customer_id,
    acquisition_channel,
    cast(frequency as {{ dbt.type_int() }}) as frequency,
    {{ days_between('first_purchase_date', 'last_purchase_date') }} as recency_days,
    {{ days_between('first_purchase_date', as_of_date()) }} as t_days,
    {{ clv_time_units(days_between('first_purchase_date', 'last_purchase_date')) }} as recency,
    {{ clv_time_units(days_between('first_purchase_date', as_of_date())) }} as t,
    case when frequency > 0 then (total_value - first_value) / frequency end as monetary_value,
    first_purchase_date,
    last_purchase_date
from per_customer
