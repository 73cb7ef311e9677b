-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
-- One row per non-internal customer and calendar month from the first known month to the as_of_date
-- month, with the lifecycle stage (DECISIONS.md, Lifecycle). The stage is computed without recursion:
-- a month can only follow a `churned` month with an order (reactivated) when churn_days >= 31, which
-- the compile-time check below enforces.
{% if var('churn_days') < 31 or var('active_days') > var('churn_days') %}
    {{ exceptions.raise_compiler_error('vars need churn_days >= 31 and active_days <= churn_days') }}
{% endif %}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="customer_month", on_schema_change="fail"
) }}
-- Incremental (DECISIONS.md, Incremental processing): the rows macro customer_months_to_rewrite() selects are
-- written again; the stage of a month reads the two months before it, so unaffected customers' rows are read
-- from two months before the first rewritten month.
with spine as (
    select * from {{ ref('int_customer_months__spined') }}
    {% if is_incremental() %}
    where {{ rewritten_rows('customer') }}
        or month_start >= {{ dbt.dateadd('month', -2, rewrite_from_month()) }}
    {% endif %}
),

base as (
    select
        *,
        {{ dbt.datediff('last_order_date', 'month_end', 'day') }} as days_since_last_order,
        case
            when last_order_date is null then 'prospect'
            when month_start = first_order_month then 'new'
            when {{ dbt.datediff('last_order_date', 'month_end', 'day') }} <= {{ var('active_days') }} then 'active'
            when {{ dbt.datediff('last_order_date', 'month_end', 'day') }} <= {{ var('churn_days') }} then 'at_risk'
            else 'churned'
        end as base_stage
    from spine
),

-- One window pass: a month's stage needs the previous month's base stage, and the previous month's stage needs
-- that month's orders and the base stage of the month before it.
lagged as (
    select
        *,
        lag(base_stage) over (partition by customer_id order by month_start) as previous_base_stage,
        lag(orders) over (partition by customer_id order by month_start) as previous_orders,
        lag(base_stage, 2) over (partition by customer_id order by month_start) as second_previous_base_stage
    from base
),

staged as (
    select
        *,
        case
            when base_stage <> 'new' and orders > 0 and previous_base_stage = 'churned' then 'reactivated'
            else base_stage
        end as lifecycle_stage,
        case
            when previous_base_stage <> 'new' and previous_orders > 0 and second_previous_base_stage = 'churned'
                then 'reactivated'
            else previous_base_stage
        end as previous_lifecycle_stage
    from lagged
),

final as (
select
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(month_start as date) as month_start,
    cast(month_end as date) as month_end,
    {{ is_partial_month('month_start', 'month_end') }} as is_partial_month,
    cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(lifecycle_stage as {{ dbt.type_string() }}) as lifecycle_stage,
    cast(previous_lifecycle_stage as {{ dbt.type_string() }}) as previous_stage,
    cast(orders as {{ dbt.type_bigint() }}) as orders,
    cast(net_revenue as {{ type_double() }}) as net_revenue,
    cast(days_since_last_order as {{ dbt.type_bigint() }}) as days_since_last_order,
    cast(last_order_date as date) as last_order_date,
    cast(first_order_month as date) as first_order_month,
    cast(first_known_date as date) as first_known_date,
    cast(lifecycle_stage in {{ live_stages() }} as {{ dbt.type_boolean() }}) as is_live,
    cast((select current_watermark from {{ ref('int_incremental__state') }}) as {{ dbt.type_timestamp() }})
        as _processed_through
from staged
)

select * from final
{% if is_incremental() %}
where {{ rewritten_rows('customer_month') }}
{% endif %}
