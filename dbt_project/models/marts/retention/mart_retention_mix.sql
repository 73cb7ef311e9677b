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
-- The per-customer flags are int_retention_mix__customer_months (incremental); this model only counts them.
with flags as (
    select * from {{ ref('int_retention_mix__customer_months') }}
),

-- One pass over the customer-months: every combination of the flags, then each lever sums its own flag's groups.
combinations as (
    select
        month_start,
        has_account_manager,
        used_loyalty_promo,
        had_campaign_touch,
        ticket_solved_within_target,
        count(*) as customers,
        sum(case when repurchased then 1 else 0 end) as repurchased_customers,
        sum(case when is_churned then 1 else 0 end) as churned_customers
    from flags
    group by month_start, has_account_manager, used_loyalty_promo, had_campaign_touch, ticket_solved_within_target
),

per_group as (
    {% for lever, flag in levers %}
    select
        month_start,
        '{{ lever }}' as lever,
        {{ flag }} as is_exposed,
        sum(customers) as customers,
        sum(repurchased_customers) as repurchased_customers,
        sum(churned_customers) as churned_customers
    from combinations
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
    from (select distinct month_start from combinations) as months
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
