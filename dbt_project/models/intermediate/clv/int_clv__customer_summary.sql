-- One row per customer with a completed order: the BG/NBD / Gamma-Gamma inputs as of as_of_date, in
-- whole time units of clv_time_unit_days (DECISIONS.md, CLV). Read by the Python CLV step.
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
    {{ whole_periods('first_purchase_date', 'last_purchase_date', var('clv_time_unit_days')) }} as recency,
    {{ whole_periods('first_purchase_date', as_of_date(), var('clv_time_unit_days')) }} as t,
    case when frequency > 0 then (total_value - first_value) / frequency end as monetary_value,
    first_purchase_date,
    last_purchase_date
from per_customer
