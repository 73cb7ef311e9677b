{{ config(tags=['clv_scored']) }}
-- One row per non-internal customer known on as_of_date (CRM contacts and guests), with order, support,
-- NPS, lifecycle and CLV attributes as of as_of_date.
with customers as (
    select * from {{ ref('int_customers__resolved') }}
    where not is_internal
),

orders as (
    select
        customer_id,
        sum(case when is_completed then 1 else 0 end) as order_count,
        sum(net_revenue) as net_revenue,
        sum(case when is_completed and is_loyalty_promo then 1 else 0 end) as loyalty_promo_orders
    from {{ ref('fct_orders') }}
    group by customer_id
),

referrals as (
    {{ referred_customers_by_referrer() }}
),

tickets as (
    {{ ticket_counts_by_customer() }}
),

nps as (
    {{ latest_nps_by_customer() }}
),

current_month as (
    select customer_id, lifecycle_stage
    from {{ ref('fct_customer_months') }}
    where month_start = {{ month_start(as_of_date()) }}
),

value as (
    select * from {{ ref('mart_customer_value') }}
)

select
    cast(customers.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(customers.customer_type as {{ dbt.type_string() }}) as customer_type,
    cast(customers.acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(customers.segment as {{ dbt.type_string() }}) as segment,
    cast(customers.account_manager as {{ dbt.type_string() }}) as account_manager,
    cast(customers.account_manager is not null as {{ dbt.type_boolean() }}) as has_account_manager,
    cast(customers.marketing_opt_in as {{ dbt.type_boolean() }}) as marketing_opt_in,
    cast(customers.country as {{ dbt.type_string() }}) as country,
    cast(customers.first_known_date as date) as first_known_date,
    cast(customers.first_order_date as date) as first_order_date,
    cast(customers.last_order_date as date) as last_order_date,
    cast(coalesce(orders.order_count, 0) as {{ dbt.type_bigint() }}) as order_count,
    cast(coalesce(orders.net_revenue, 0) as {{ type_double() }}) as net_revenue,
    cast(coalesce(orders.loyalty_promo_orders, 0) as {{ dbt.type_bigint() }}) as loyalty_promo_orders,
    cast(coalesce(referrals.referred_customers, 0) as {{ dbt.type_bigint() }}) as referred_customers,
    cast(coalesce(tickets.tickets, 0) as {{ dbt.type_bigint() }}) as ticket_count,
    cast(coalesce(tickets.breached_tickets, 0) as {{ dbt.type_bigint() }}) as sla_breached_tickets,
    cast(tickets.good_ratings * 1e0 / nullif(tickets.rated_tickets, 0) as {{ type_double() }}) as csat,
    cast(nps.score as {{ dbt.type_bigint() }}) as latest_nps,
    cast(current_month.lifecycle_stage as {{ dbt.type_string() }}) as lifecycle_stage,
    cast(value.frequency as {{ dbt.type_int() }}) as frequency,
    cast(value.p_alive as {{ type_double() }}) as p_alive,
    cast(value.days_since_last_purchase as {{ dbt.type_bigint() }}) as days_since_last_purchase,
    cast(value.expected_purchases as {{ type_double() }}) as expected_purchases,
    cast(value.clv as {{ type_double() }}) as clv,
    cast(value.value_tier as {{ dbt.type_string() }}) as value_tier
from customers
left join orders on customers.customer_id = orders.customer_id
left join referrals on customers.customer_id = referrals.customer_id
left join tickets on customers.customer_id = tickets.customer_id
left join nps on customers.customer_id = nps.customer_id
left join current_month on customers.customer_id = current_month.customer_id
left join value on customers.customer_id = value.customer_id
