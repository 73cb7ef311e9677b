-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
-- depends_on: {{ ref('int_incremental__mix_customers') }}
{{ config(
    materialized=rewrite_materialization(),
    incremental_strategy="rewrite",
    rewrite="mix_customer_month",
    on_schema_change="fail",
) }}
-- One row per customer live at the start of a month (live at the end of the previous month, mart_customer_flows'
-- customers_start): the lever exposures in the var mix_exposure_days before the month, whether the customer
-- bought again within var repurchase_window_days from the month start, and whether it churned in the month
-- (DECISIONS.md, Retention mix). mart_retention_mix counts these rows.
-- Incremental (DECISIONS.md, Incremental processing): a row reads only its own customer's month rows, orders,
-- contact versions, campaign touches and tickets, with windows fixed to its month_start (never to as_of_date), so
-- it changes only when the customer is affected, its month is rewritten in fct_customer_months, or one of its
-- touches or tickets changed (int_incremental__mix_customers). Written after the facts, so a build that failed
-- in between leaves it behind the watermark: then the next build rewrites it whole (macro missed_a_build).
with population as (
    select
        customer_id,
        month_start,
        cast({{ dbt.dateadd('day', -var('mix_exposure_days'), 'month_start') }} as date) as exposure_from,
        cast({{ dbt.dateadd('day', var('repurchase_window_days'), 'month_start') }} as date) as window_end,
        lifecycle_stage = 'churned' as is_churned
    from {{ ref('fct_customer_months') }}
    where previous_stage in {{ live_stages() }}
    {% if is_incremental() %}and {{ rewritten_rows('mix_customer_month') }}{% endif %}
),

-- Completed orders from the exposure window to the end of the repurchase window: a LOYAL code before the month,
-- and the first purchase on or after the month start (the one after the last purchase before it) within the window.
orders as (
    select
        population.customer_id,
        population.month_start,
        max(case when orders.order_date < population.month_start and orders.is_loyalty_promo then 1 else 0 end)
            as used_loyalty_promo,
        max(case when orders.order_date >= population.month_start then 1 else 0 end) as repurchased
    from population
    inner join {{ ref('fct_orders') }} as orders
        on population.customer_id = orders.customer_id
        and orders.order_date >= population.exposure_from
        and orders.order_date < population.window_end
    where orders.is_completed
    group by population.customer_id, population.month_start
),

account_managers as (
    select distinct population.customer_id, population.month_start
    from population
    inner join {{ ref('dim_contacts_history') }} as versions
        on population.customer_id = versions.contact_id
        and versions.valid_from < cast(population.month_start as {{ dbt.type_timestamp() }})
        and (
            versions.valid_to is null
            or versions.valid_to >= cast(population.month_start as {{ dbt.type_timestamp() }})
        )
    where versions.account_manager is not null
),

campaign_touches as (
    select distinct population.customer_id, population.month_start
    from population
    inner join {{ ref('stg_crm__activities') }} as activities
        on population.customer_id = activities.contact_id
        and {{ to_date('activities.occurred_at') }} >= population.exposure_from
        and {{ to_date('activities.occurred_at') }} < population.month_start
    where activities.activity_type = 'campaign_touch'
),

-- Only customers with a post-purchase ticket in the window are compared: all solved within target, or not.
post_purchase_tickets as (
    select
        population.customer_id,
        population.month_start,
        min(case when tickets.is_solved and not tickets.breached_resolution_sla then 1 else 0 end) = 1
            as solved_within_target
    from population
    inner join {{ ref('fct_tickets') }} as tickets
        on population.customer_id = tickets.customer_id
        and tickets.created_date >= population.exposure_from
        and tickets.created_date < population.month_start
    where tickets.is_post_purchase
    group by population.customer_id, population.month_start
)

select
    cast(population.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(population.month_start as date) as month_start,
    cast(population.is_churned as {{ dbt.type_boolean() }}) as is_churned,
    cast(coalesce(orders.repurchased = 1, false) as {{ dbt.type_boolean() }}) as repurchased,
    cast(account_managers.customer_id is not null as {{ dbt.type_boolean() }}) as has_account_manager,
    cast(coalesce(orders.used_loyalty_promo = 1, false) as {{ dbt.type_boolean() }}) as used_loyalty_promo,
    cast(campaign_touches.customer_id is not null as {{ dbt.type_boolean() }}) as had_campaign_touch,
    cast(post_purchase_tickets.solved_within_target as {{ dbt.type_boolean() }}) as ticket_solved_within_target,
    cast((select current_watermark from {{ ref('int_incremental__state') }}) as {{ dbt.type_timestamp() }})
        as _processed_through
from population
left join orders
    on population.customer_id = orders.customer_id and population.month_start = orders.month_start
left join account_managers
    on population.customer_id = account_managers.customer_id
    and population.month_start = account_managers.month_start
left join campaign_touches
    on population.customer_id = campaign_touches.customer_id
    and population.month_start = campaign_touches.month_start
left join post_purchase_tickets
    on population.customer_id = post_purchase_tickets.customer_id
    and population.month_start = post_purchase_tickets.month_start
