-- One row per cohort month (month of the first completed order), acquisition channel (channels with a
-- customer in the cohort, plus 'all') and month offset 0..as_of_date month, zero-activity offsets
-- included (DECISIONS.md, Retention cohorts). Built on the customer-month spine, so every cohort
-- customer has a row at every offset.
with cohort_months as (
    select
        customer_id,
        acquisition_channel,
        first_order_month as cohort_month,
        {{ dbt.datediff('first_order_month', 'month_start', 'month') }} as month_offset,
        month_end,
        orders,
        net_revenue
    from {{ ref('fct_customer_months') }}
    where first_order_month is not null and month_start >= first_order_month
),

per_channel as (
    select
        cohort_month,
        acquisition_channel,
        month_offset,
        month_end,
        count(*) as cohort_size,
        sum(case when orders > 0 then 1 else 0 end) as active_customers,
        sum(net_revenue) as net_revenue
    from cohort_months
    group by cohort_month, acquisition_channel, month_offset, month_end
),

with_all as (
    select * from per_channel
    union all
    select cohort_month, 'all', month_offset, month_end, sum(cohort_size), sum(active_customers), sum(net_revenue)
    from per_channel
    group by cohort_month, month_offset, month_end
),

measured as (
    select
        *,
        sum(net_revenue) over (
            partition by cohort_month, acquisition_channel order by month_offset
            rows between unbounded preceding and current row
        ) as cumulative_revenue,
        max(case when month_offset = 0 then net_revenue end) over (
            partition by cohort_month, acquisition_channel
        ) as first_month_revenue
    from with_all
)

select
    cast(cohort_month as date) as cohort_month,
    cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(month_offset as {{ dbt.type_int() }}) as month_offset,
    cast({{ dbt.dateadd('month', 'month_offset', 'cohort_month') }} as date) as activity_month,
    {{ is_partial_month(dbt.dateadd('month', 'month_offset', 'cohort_month'), 'month_end') }} as is_partial_month,
    cast(cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
    cast(active_customers as {{ dbt.type_bigint() }}) as active_customers,
    cast(active_customers * 1e0 / cohort_size as {{ type_double() }}) as retention_rate,
    cast(net_revenue as {{ type_double() }}) as net_revenue,
    cast(cumulative_revenue / cohort_size as {{ type_double() }}) as cumulative_revenue_per_customer,
    cast(net_revenue / nullif(first_month_revenue, 0) as {{ type_double() }}) as revenue_retention,
    cast(first_month_revenue as {{ type_double() }}) as first_month_net_revenue
from measured
