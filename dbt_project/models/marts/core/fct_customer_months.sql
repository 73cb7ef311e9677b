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
    materialized=("table" if target.type == "spark" else "incremental"),
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ customer_months_to_rewrite() }}{% endif %}",
) }}
with spine as (
    select * from {{ ref('int_customer_months__spined') }}
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

staged as (
    select
        *,
        case
            when base_stage <> 'new' and orders > 0
                and lag(base_stage) over (partition by customer_id order by month_start) = 'churned'
                then 'reactivated'
            else base_stage
        end as lifecycle_stage
    from base
),

final as (
select
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(month_start as date) as month_start,
    cast(month_end as date) as month_end,
    {{ is_partial_month('month_start', 'month_end') }} as is_partial_month,
    cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(lifecycle_stage as {{ dbt.type_string() }}) as lifecycle_stage,
    cast(lag(lifecycle_stage) over (partition by customer_id order by month_start) as {{ dbt.type_string() }})
        as previous_stage,
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
-- Incremental contract: only the rows deleted above are written again.
where {{ customer_months_to_rewrite() }}
{% endif %}
