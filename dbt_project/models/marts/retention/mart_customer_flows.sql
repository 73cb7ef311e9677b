-- One row per month (first known month to the as_of_date month) and acquisition channel, plus 'all':
-- customers gained, kept, lost and won back (DECISIONS.md, Customer flows). Zero rows included.
with customer_months as (
    select * from {{ ref('fct_customer_months') }}
),

per_channel as (
    select
        month_start,
        acquisition_channel,
        sum(case when previous_stage in {{ live_stages() }} then 1 else 0 end) as customers_start,
        sum(case when lifecycle_stage = 'new' then 1 else 0 end) as gained,
        sum(
            case
                when previous_stage in {{ live_stages() }} and lifecycle_stage in ('active', 'at_risk') then 1
                else 0
            end
        ) as kept,
        sum(
            case when lifecycle_stage = 'churned' and coalesce(previous_stage, '') <> 'churned' then 1 else 0 end
        ) as lost,
        sum(case when lifecycle_stage = 'reactivated' then 1 else 0 end) as won_back,
        sum(case when lifecycle_stage in {{ live_stages() }} then 1 else 0 end) as customers_end
    from customer_months
    group by month_start, acquisition_channel
),

grid as (
    select months.month_start, months.month_end, channels.acquisition_channel
    from (select month_start, min(month_end) as month_end from customer_months group by month_start) as months
    cross join (select distinct acquisition_channel from customer_months) as channels
),

filled as (
    select
        grid.month_start,
        grid.month_end,
        grid.acquisition_channel,
        coalesce(per_channel.customers_start, 0) as customers_start,
        coalesce(per_channel.gained, 0) as gained,
        coalesce(per_channel.kept, 0) as kept,
        coalesce(per_channel.lost, 0) as lost,
        coalesce(per_channel.won_back, 0) as won_back,
        coalesce(per_channel.customers_end, 0) as customers_end
    from grid
    left join per_channel
        on grid.month_start = per_channel.month_start
        and grid.acquisition_channel = per_channel.acquisition_channel
),

with_all as (
    select * from filled
    union all
    select
        month_start,
        month_end,
        'all' as acquisition_channel,
        sum(customers_start),
        sum(gained),
        sum(kept),
        sum(lost),
        sum(won_back),
        sum(customers_end)
    from filled
    group by month_start, month_end
)

select
    cast(month_start as date) as month_start,
    {{ is_partial_month('month_start', 'month_end') }} as is_partial_month,
    cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(customers_start as {{ dbt.type_bigint() }}) as customers_start,
    cast(gained as {{ dbt.type_bigint() }}) as gained,
    cast(kept as {{ dbt.type_bigint() }}) as kept,
    cast(lost as {{ dbt.type_bigint() }}) as lost,
    cast(won_back as {{ dbt.type_bigint() }}) as won_back,
    cast(customers_end as {{ dbt.type_bigint() }}) as customers_end,
    cast(gained + won_back - lost as {{ dbt.type_bigint() }}) as net_change,
    cast(gained * 1e0 / nullif(lost, 0) as {{ type_double() }}) as acquisition_retention_ratio
from with_all
