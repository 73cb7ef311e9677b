{{ config(tags=['clv_scored']) }}
-- One row per month end (first purchase month to the as_of_date month) and acquisition channel, plus
-- 'all': customer equity (sum of CLV with each customer's history cut at the month end), the month's
-- cash flow (net revenue) and Return on Customer (DECISIONS.md, CLV / Equity). Zero rows included.
with scored as (
    select * from {{ ref('int_clv__scored') }}
    where month_end is not null
),

cash as (
    select month_start, acquisition_channel, sum(net_revenue) as cash_flow
    from {{ ref('int_customer_months__spined') }}
    group by month_start, acquisition_channel
),

equity as (
    select
        month_end,
        acquisition_channel,
        count(*) as customers,
        sum(clv) as customer_equity
    from scored
    group by month_end, acquisition_channel
),

grid as (
    select months.month_end, channels.acquisition_channel
    from (select distinct month_end from scored) as months
    cross join (select distinct acquisition_channel from scored) as channels
),

filled as (
    select
        grid.month_end,
        grid.acquisition_channel,
        coalesce(equity.customers, 0) as customers,
        coalesce(equity.customer_equity, 0) as customer_equity,
        coalesce(cash.cash_flow, 0) as cash_flow
    from grid
    left join equity
        on grid.month_end = equity.month_end and grid.acquisition_channel = equity.acquisition_channel
    left join cash
        on {{ month_start('grid.month_end') }} = cash.month_start
        and grid.acquisition_channel = cash.acquisition_channel
),

with_all as (
    select * from filled
    union all
    select month_end, 'all', sum(customers), sum(customer_equity), sum(cash_flow)
    from filled
    group by month_end
),

with_start as (
    select
        *,
        lag(customer_equity) over (partition by acquisition_channel order by month_end) as equity_start
    from with_all
)

select
    cast(month_end as date) as month_end,
    cast({{ month_start('month_end') }} as date) as month_start,
    cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(customers as {{ dbt.type_bigint() }}) as customers,
    cast(customer_equity as {{ type_double() }}) as customer_equity,
    cast(equity_start as {{ type_double() }}) as equity_start,
    cast(cash_flow as {{ type_double() }}) as cash_flow,
    cast(customer_equity - equity_start as {{ type_double() }}) as equity_change,
    cast((cash_flow + customer_equity - equity_start) / nullif(equity_start, 0) as {{ type_double() }}) as roc
from with_start
