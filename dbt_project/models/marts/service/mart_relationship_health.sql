-- One row per non-internal customer with a completed order on or before as_of_date: one 0-1 measure per
-- relationship-quality indicator (null without data), a weighted 0-100 composite over the indicators that have
-- data, how many it used, and a health band (DECISIONS.md, Relationship health; weights and thresholds are vars).
{% set w = var('health_weights') %}
{% set indicators = ['satisfaction', 'trust', 'control_mutuality', 'commitment', 'mind_set', 'word_of_mouth'] %}
with customers as (
    select customer_id, acquisition_channel, marketing_opt_in, first_order_date
    from {{ ref('int_customers__resolved') }}
    where not is_internal and first_order_date is not null
),

window_orders as (
    select
        customer_id,
        sum(case when is_completed then 1 else 0 end) as completed_orders,
        sum(case when is_completed and refunds > 0 then 1 else 0 end) as refunded_orders
    from {{ ref('fct_orders') }}
    where {{ dbt.datediff('order_date', as_of_date(), 'day') }} < {{ var('health_window_days') }}
    group by customer_id
),

window_tickets as (
    {{ ticket_counts_by_customer(var('health_window_days')) }}
),

months as (
    select
        customer_id,
        sum(case when month_start >= first_order_month then 1 else 0 end) as months_since_first_order,
        sum(case when month_start >= first_order_month and orders > 0 then 1 else 0 end) as months_with_order,
        max(case when month_start = {{ month_start(as_of_date()) }} then lifecycle_stage end) as lifecycle_stage
    from {{ ref('fct_customer_months') }}
    group by customer_id
),

nps as (
    {{ latest_nps_by_customer() }}
),

referrals as (
    {{ referred_customers_by_referrer() }}
),

inputs as (
    select
        customers.customer_id,
        customers.acquisition_channel,
        months.lifecycle_stage,
        coalesce(window_orders.completed_orders, 0) as completed_orders,
        coalesce(window_orders.refunded_orders, 0) as refunded_orders,
        coalesce(window_tickets.tickets, 0) as tickets,
        coalesce(window_tickets.breached_tickets, 0) as breached_tickets,
        coalesce(window_tickets.rated_tickets, 0) as rated_tickets,
        coalesce(window_tickets.good_ratings, 0) as good_ratings,
        window_tickets.self_service_tickets * 1e0 / nullif(window_tickets.tickets, 0) as self_service_share,
        customers.marketing_opt_in,
        {{ dbt.datediff('customers.first_order_date', as_of_date(), 'day') }} as tenure_days,
        months.months_with_order * 1e0 / months.months_since_first_order as active_month_share,
        nps.score as latest_nps,
        nps.nps_category as latest_nps_category,
        coalesce(referrals.referred_customers, 0) as referred_customers
    from customers
    inner join months on customers.customer_id = months.customer_id
    left join window_orders on customers.customer_id = window_orders.customer_id
    left join window_tickets on customers.customer_id = window_tickets.customer_id
    left join nps on customers.customer_id = nps.customer_id
    left join referrals on customers.customer_id = referrals.customer_id
),

indicators as (
    select
        *,
        good_ratings * 1e0 / nullif(rated_tickets, 0) as satisfaction,
        1 - (breached_tickets + refunded_orders) * 1e0 / nullif(tickets + completed_orders, 0) as trust,
        case
            when marketing_opt_in is null and self_service_share is null then null
            when marketing_opt_in is null then self_service_share
            when self_service_share is null then case when marketing_opt_in then 1e0 else 0e0 end
            else ((case when marketing_opt_in then 1e0 else 0e0 end) + self_service_share) / 2
        end as control_mutuality,
        0.5e0 * least(tenure_days * 1e0 / {{ var('health_full_tenure_days') }}, 1e0) + 0.5e0 * active_month_share
            as commitment,
        -- The latest response's NPS category: promoter 1, passive 0.5, detractor 0 (null without a response).
        case latest_nps_category when 'promoter' then 1e0 when 'passive' then 0.5e0 when 'detractor' then 0e0 end
            as mind_set,
        -- Referrals are the only word-of-mouth data: a customer who referred nobody has no data, not a 0.
        case
            when referred_customers > 0
                then least(referred_customers * 1e0 / {{ var('health_full_referrals') }}, 1e0)
        end as word_of_mouth
    from inputs
),

scored as (
    select
        *,
        100e0 * (
            {%- for name in indicators %}
            coalesce({{ w[name] }} * {{ name }}, 0){{ ' +' if not loop.last }}
            {%- endfor %}
        ) / nullif(
            {%- for name in indicators %}
            (case when {{ name }} is not null then {{ w[name] }} else 0 end){{ ' +' if not loop.last else ',' }}
            {%- endfor %}
            0
        ) as health_score,
        {%- for name in indicators %}
        (case when {{ name }} is not null then 1 else 0 end){{ ' +' if not loop.last }}
        {%- endfor %}
            as indicators_used
    from indicators
)

select
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(lifecycle_stage as {{ dbt.type_string() }}) as lifecycle_stage,
    {%- for name in indicators %}
    cast({{ name }} as {{ type_double() }}) as {{ name }},
    {%- endfor %}
    cast(health_score as {{ type_double() }}) as health_score,
    cast(indicators_used as {{ dbt.type_bigint() }}) as indicators_used,
    cast(
        case
            when health_score >= {{ var('health_band_strong_min') }} then 'strong'
            when health_score >= {{ var('health_band_fair_min') }} then 'fair'
            else 'weak'
        end as {{ dbt.type_string() }}
    ) as health_band,
    cast(completed_orders as {{ dbt.type_bigint() }}) as completed_orders,
    cast(refunded_orders as {{ dbt.type_bigint() }}) as refunded_orders,
    cast(tickets as {{ dbt.type_bigint() }}) as tickets,
    cast(breached_tickets as {{ dbt.type_bigint() }}) as breached_tickets,
    cast(rated_tickets as {{ dbt.type_bigint() }}) as rated_tickets,
    cast(good_ratings as {{ dbt.type_bigint() }}) as good_ratings,
    cast(self_service_share as {{ type_double() }}) as self_service_share,
    cast(marketing_opt_in as {{ dbt.type_boolean() }}) as marketing_opt_in,
    cast(tenure_days as {{ dbt.type_bigint() }}) as tenure_days,
    cast(active_month_share as {{ type_double() }}) as active_month_share,
    cast(latest_nps as {{ dbt.type_bigint() }}) as latest_nps,
    cast(referred_customers as {{ dbt.type_bigint() }}) as referred_customers
from scored
