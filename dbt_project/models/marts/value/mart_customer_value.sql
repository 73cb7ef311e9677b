{{ config(tags=['clv_scored']) }}
-- One row per non-internal customer with a completed order on or before as_of_date: BG/NBD and
-- Gamma-Gamma scores and CLV over clv_horizon_months, with a value tier by CLV rank
-- (DECISIONS.md, CLV; ties broken by customer_id).
with scored as (
    select * from {{ ref('int_clv__scored') }}
    where month_end is null
),

summary as (
    select customer_id, first_purchase_date, last_purchase_date
    from {{ ref('int_clv__customer_summary') }}
),

ranked as (
    select
        scored.*,
        summary.first_purchase_date,
        summary.last_purchase_date,
        (row_number() over (order by scored.clv desc nulls last, scored.customer_id asc) - 1) * 1e0
        / count(*) over () as clv_rank_share
    from scored
    inner join summary
        on scored.customer_id = summary.customer_id
)

select
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(frequency as {{ dbt.type_int() }}) as frequency,
    cast(recency as {{ type_double() }}) as recency,
    cast(t as {{ type_double() }}) as t,
    cast(monetary_value as {{ type_double() }}) as monetary_value,
    cast(first_purchase_date as date) as first_purchase_date,
    cast(last_purchase_date as date) as last_purchase_date,
    cast(p_alive as {{ type_double() }}) as p_alive,
    cast(t_days - recency_days as {{ dbt.type_bigint() }}) as days_since_last_purchase,
    cast(expected_purchases as {{ type_double() }}) as expected_purchases,
    cast(discounted_expected_purchases as {{ type_double() }}) as discounted_expected_purchases,
    cast(expected_order_value as {{ type_double() }}) as expected_order_value,
    cast(clv as {{ type_double() }}) as clv,
    cast(clv_rank_share as {{ type_double() }}) as clv_rank_share,
    cast(
        case
            when clv_rank_share < 1 - {{ var('value_tier_high_quantile') }} then 'high'
            when clv_rank_share < 1 - {{ var('value_tier_medium_quantile') }} then 'medium'
            else 'low'
        end as {{ dbt.type_string() }}
    ) as value_tier
from ranked
