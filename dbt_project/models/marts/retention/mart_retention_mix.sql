-- One row per month, retention-mix lever and exposed / not exposed: among customers live at the start of the
-- month, how many were exposed to the lever, and for each group the share who bought again within
-- repurchase_window_days and the share who churned in the month (DECISIONS.md, Retention mix). An association
-- between a lever and retention, never its effect: exposed customers differ from the others in more than the lever.
{% set levers = [
    ('account_manager', 'has_account_manager'),
    ('loyalty_promo', 'used_loyalty_promo'),
    ('campaign_touch', 'had_campaign_touch'),
    ('post_purchase_ticket_solved_within_target', 'ticket_solved_within_target'),
] %}
with customer_months as (
    select
        customer_id,
        month_start,
        lifecycle_stage,
        previous_stage,
        lag(last_order_date) over (partition by customer_id order by month_start) as last_order_before
    from {{ ref('fct_customer_months') }}
),

-- Live at the end of the previous month (mart_customer_flows' customers_start).
population as (
    select
        customer_id,
        month_start,
        cast({{ dbt.dateadd('day', -var('mix_exposure_days'), 'month_start') }} as date) as exposure_from,
        last_order_before,
        lifecycle_stage = 'churned' as is_churned
    from customer_months
    where previous_stage in {{ live_stages() }}
),

-- The first purchase day on or after the month start is the one after the last purchase before it.
purchase_days as (
    select
        customer_id,
        purchase_date,
        lead(purchase_date) over (partition by customer_id order by purchase_date) as next_purchase_date
    from {{ ref('int_clv__purchase_days') }}
),

outcomes as (
    select
        population.*,
        coalesce(
            {{ dbt.datediff('population.month_start', 'purchase_days.next_purchase_date', 'day') }}
                < {{ var('repurchase_window_days') }},
            false
        ) as repurchased
    from population
    left join purchase_days
        on population.customer_id = purchase_days.customer_id
        and population.last_order_before = purchase_days.purchase_date
),

account_managers as (
    select population.customer_id, population.month_start
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

loyalty_promos as (
    select distinct population.customer_id, population.month_start
    from population
    inner join {{ ref('fct_orders') }} as orders
        on population.customer_id = orders.customer_id
        and orders.order_date >= population.exposure_from
        and orders.order_date < population.month_start
    where orders.is_completed and orders.is_loyalty_promo
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
),

flags as (
    select
        outcomes.month_start,
        outcomes.repurchased,
        outcomes.is_churned,
        account_managers.customer_id is not null as has_account_manager,
        loyalty_promos.customer_id is not null as used_loyalty_promo,
        campaign_touches.customer_id is not null as had_campaign_touch,
        post_purchase_tickets.solved_within_target as ticket_solved_within_target
    from outcomes
    left join account_managers
        on outcomes.customer_id = account_managers.customer_id and outcomes.month_start = account_managers.month_start
    left join loyalty_promos
        on outcomes.customer_id = loyalty_promos.customer_id and outcomes.month_start = loyalty_promos.month_start
    left join campaign_touches
        on outcomes.customer_id = campaign_touches.customer_id and outcomes.month_start = campaign_touches.month_start
    left join post_purchase_tickets
        on outcomes.customer_id = post_purchase_tickets.customer_id
        and outcomes.month_start = post_purchase_tickets.month_start
),

per_group as (
    {% for lever, flag in levers %}
    select
        month_start,
        '{{ lever }}' as lever,
        {{ flag }} as is_exposed,
        count(*) as customers,
        sum(case when repurchased then 1 else 0 end) as repurchased_customers,
        sum(case when is_churned then 1 else 0 end) as churned_customers
    from flags
    where {{ flag }} is not null
    group by month_start, {{ flag }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

-- A lever is shown when its source has data, so a business without a CRM or a help desk sees only the others.
lever_sources as (
    select 'account_manager' as lever, count(*) as source_rows from {{ ref('dim_contacts_history') }}
    union all
    select 'loyalty_promo', count(*) from {{ ref('fct_orders') }} where is_completed
    union all
    select 'campaign_touch', count(*) from {{ ref('stg_crm__activities') }}
    where {{ to_date('occurred_at') }} <= {{ as_of_date() }}
    union all
    select 'post_purchase_ticket_solved_within_target', count(*) from {{ ref('fct_tickets') }}
    where is_post_purchase and customer_id is not null
),

grid as (
    select months.month_start, lever_sources.lever, exposure.is_exposed
    from (select distinct month_start from population) as months
    cross join lever_sources
    cross join (
        select true as is_exposed
        union all
        select false
    ) as exposure
    where lever_sources.source_rows > 0
)

select
    cast(grid.month_start as date) as month_start,
    cast(grid.lever as {{ dbt.type_string() }}) as lever,
    cast(grid.is_exposed as {{ dbt.type_boolean() }}) as is_exposed,
    cast(coalesce(per_group.customers, 0) as {{ dbt.type_bigint() }}) as customers,
    cast(
        {{ dbt.datediff('grid.month_start', as_of_date(), 'day') }} >= {{ var('repurchase_window_days') }} - 1
        as {{ dbt.type_boolean() }}
    ) as is_window_observed,
    cast(
        case
            when {{ dbt.datediff('grid.month_start', as_of_date(), 'day') }} >= {{ var('repurchase_window_days') }} - 1
                then coalesce(per_group.repurchased_customers, 0)
        end as {{ dbt.type_bigint() }}
    ) as repurchased_customers,
    cast(
        case
            when {{ dbt.datediff('grid.month_start', as_of_date(), 'day') }} >= {{ var('repurchase_window_days') }} - 1
                then per_group.repurchased_customers * 1e0 / nullif(per_group.customers, 0)
        end as {{ type_double() }}
    ) as repurchase_rate,
    cast(coalesce(per_group.churned_customers, 0) as {{ dbt.type_bigint() }}) as churned_customers,
    cast(per_group.churned_customers * 1e0 / nullif(per_group.customers, 0) as {{ type_double() }}) as churn_rate,
    cast('association, not effect' as {{ dbt.type_string() }}) as interpretation
from grid
left join per_group
    on grid.month_start = per_group.month_start
    and grid.lever = per_group.lever
    and grid.is_exposed = per_group.is_exposed
