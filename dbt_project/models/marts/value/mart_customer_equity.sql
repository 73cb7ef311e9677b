{{ config(tags=['clv_scored']) }}
-- One row per month end (first purchase month to the as_of_date month) and acquisition channel, plus 'all'.
-- Customer equity (sum of CLV, each customer's history cut at the month end) and Return on Customer over the
-- customers on the books at the start of the month (a completed order before it), with the month's
-- acquisition contribution (customers whose first completed order is in the month) beside it. Cash flow is
-- net revenue times clv_margin, the units of CLV (DECISIONS.md, CLV / Equity). Zero rows included.
with customer_months as (
    select
        scored.month_end,
        scored.acquisition_channel,
        scored.clv,
        months.first_order_month = months.month_start as is_new,
        cast({{ var('clv_margin') }} as {{ type_double() }}) * months.net_revenue as cash_flow
    from {{ ref('int_clv__scored') }} as scored
    inner join {{ ref('int_customer_months__spined') }} as months
        on scored.customer_id = months.customer_id and scored.month_end = months.month_end
    where scored.month_end is not null
),

per_channel as (
    select
        month_end,
        acquisition_channel,
        count(*) as customers,
        sum(case when is_new then 0 else 1 end) as customers_start,
        sum(case when is_new then 1 else 0 end) as new_customers,
        sum(clv) as customer_equity,
        sum(cash_flow) as cash_flow,
        sum(case when is_new then 0 else clv end) as retained_equity_end,
        sum(case when is_new then 0 else cash_flow end) as retained_cash_flow,
        sum(case when is_new then clv else 0 end) as acquisition_equity,
        sum(case when is_new then cash_flow else 0 end) as acquisition_cash_flow
    from customer_months
    group by month_end, acquisition_channel
),

grid as (
    select months.month_end, channels.acquisition_channel
    from (select distinct month_end from customer_months) as months
    cross join (select distinct acquisition_channel from customer_months) as channels
),

filled as (
    select
        grid.month_end,
        grid.acquisition_channel,
        coalesce(per_channel.customers, 0) as customers,
        coalesce(per_channel.customers_start, 0) as customers_start,
        coalesce(per_channel.new_customers, 0) as new_customers,
        coalesce(per_channel.customer_equity, 0) as customer_equity,
        coalesce(per_channel.cash_flow, 0) as cash_flow,
        coalesce(per_channel.retained_equity_end, 0) as retained_equity_end,
        coalesce(per_channel.retained_cash_flow, 0) as retained_cash_flow,
        coalesce(per_channel.acquisition_equity, 0) as acquisition_equity,
        coalesce(per_channel.acquisition_cash_flow, 0) as acquisition_cash_flow
    from grid
    left join per_channel
        on grid.month_end = per_channel.month_end and grid.acquisition_channel = per_channel.acquisition_channel
),

with_all as (
    select * from filled
    union all
    select
        month_end,
        'all',
        sum(customers),
        sum(customers_start),
        sum(new_customers),
        sum(customer_equity),
        sum(cash_flow),
        sum(retained_equity_end),
        sum(retained_cash_flow),
        sum(acquisition_equity),
        sum(acquisition_cash_flow)
    from filled
    group by month_end
),

with_start as (
    select
        *,
        -- the customers on the books at the start are last month's customers, scored at last month's end
        lag(customer_equity) over (partition by acquisition_channel order by month_end) as equity_start
    from with_all
)

select
    cast(month_end as date) as month_end,
    cast({{ month_start('month_end') }} as date) as month_start,
    {{ is_partial_month(month_start('month_end'), 'month_end') }} as is_partial_month,
    cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(customers as {{ dbt.type_bigint() }}) as customers,
    cast(customer_equity as {{ type_double() }}) as customer_equity,
    cast(cash_flow as {{ type_double() }}) as cash_flow,
    cast(customers_start as {{ dbt.type_bigint() }}) as customers_start,
    cast(equity_start as {{ type_double() }}) as equity_start,
    cast(customer_equity - equity_start as {{ type_double() }}) as equity_change,
    cast(retained_cash_flow as {{ type_double() }}) as retained_cash_flow,
    cast(retained_equity_end as {{ type_double() }}) as retained_equity_end,
    cast(retained_equity_end - equity_start as {{ type_double() }}) as retained_equity_change,
    cast(
        (retained_cash_flow + retained_equity_end - equity_start) / nullif(equity_start, 0) as {{ type_double() }}
    ) as roc,
    cast(new_customers as {{ dbt.type_bigint() }}) as new_customers,
    cast(acquisition_cash_flow as {{ type_double() }}) as acquisition_cash_flow,
    cast(acquisition_equity as {{ type_double() }}) as acquisition_equity,
    cast(acquisition_cash_flow + acquisition_equity as {{ type_double() }}) as acquisition_contribution
from with_start
