-- One row per resolution-speed bucket of customers' first post-purchase ticket (fast / slow / very_slow /
-- unsolved) and solved flag: how many of those customers bought again within repurchase_window_days of
-- the ticket, and how many are churned now (DECISIONS.md, Post-purchase recovery).
with first_ticket as (
    select
        customer_id,
        created_date,
        resolution_hours,
        is_solved,
        row_number() over (partition by customer_id order by created_at, ticket_id) as ticket_rank
    from {{ ref('fct_tickets') }}
    where customer_id is not null and is_post_purchase
),

tickets as (
    select
        customer_id,
        created_date,
        is_solved,
        case
            when not is_solved then 'unsolved'
            when resolution_hours <= {{ var('fast_resolution_hours') }} then 'fast'
            when resolution_hours <= {{ var('slow_resolution_hours') }} then 'slow'
            else 'very_slow'
        end as resolution_bucket,
        {{ dbt.datediff('created_date', as_of_date(), 'day') }} >= {{ var('repurchase_window_days') }}
            as is_window_observed
    from first_ticket
    where ticket_rank = 1
),

repurchases as (
    select tickets.customer_id, count(*) as later_orders
    from tickets
    inner join {{ ref('fct_orders') }} as orders
        on tickets.customer_id = orders.customer_id
        and orders.is_completed
        and orders.order_date > tickets.created_date
        and {{ dbt.datediff('tickets.created_date', 'orders.order_date', 'day') }}
        <= {{ var('repurchase_window_days') }}
    group by tickets.customer_id
),

stages as (
    select customer_id, lifecycle_stage
    from {{ ref('fct_customer_months') }}
    where month_start = {{ month_start(as_of_date()) }}
),

per_customer as (
    select
        tickets.*,
        repurchases.customer_id is not null as repurchased,
        stages.lifecycle_stage = 'churned' as is_churned
    from tickets
    left join repurchases on tickets.customer_id = repurchases.customer_id
    left join stages on tickets.customer_id = stages.customer_id
)

select
    cast(resolution_bucket as {{ dbt.type_string() }}) as resolution_bucket,
    cast(is_solved as {{ dbt.type_boolean() }}) as is_solved,
    cast(count(*) as {{ dbt.type_bigint() }}) as customers,
    cast(sum(case when is_window_observed then 1 else 0 end) as {{ dbt.type_bigint() }}) as observed_customers,
    cast(sum(case when is_window_observed and repurchased then 1 else 0 end) as {{ dbt.type_bigint() }})
        as repurchased_customers,
    cast(
        sum(case when is_window_observed and repurchased then 1 else 0 end) * 1e0
        / nullif(sum(case when is_window_observed then 1 else 0 end), 0)
        as {{ type_double() }}
    ) as repurchase_rate,
    cast(sum(case when is_churned then 1 else 0 end) as {{ dbt.type_bigint() }}) as churned_customers,
    cast(avg(case when is_churned then 1e0 else 0e0 end) as {{ type_double() }}) as churn_share
from per_customer
group by resolution_bucket, is_solved
