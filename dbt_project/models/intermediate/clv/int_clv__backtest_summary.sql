-- The CLV backtest's calibration / holdout split (DECISIONS.md, CLV backtest), compressed for the Python step:
-- one row per cutoff and distinct (frequency, recency_days, t_days) of the customers whose first purchase day is
-- on or before the cutoff, with how many customers share it and their purchase days in the holdout.
-- Cutoffs: the last var clv_backtest_cutoffs month ends whose holdout (var clv_backtest_holdout_months whole
-- months after the cutoff) ends on or before as_of_date, so every holdout is fully observed. Times in whole days:
-- the step divides by clv_time_unit_days, the resolution DOMAIN.md asks for (days / 7, not whole weeks).
with cutoffs as (
    select cutoff_date, holdout_end_date
    from (
        select
            {{ month_last_day('month_start') }} as cutoff_date,
            {{ month_last_day(dbt.dateadd('month', var('clv_backtest_holdout_months'), 'month_start')) }}
                as holdout_end_date,
            row_number() over (order by month_start desc) as cutoff_rank
        from {{ ref('int_calendar__months') }}
        where {{ month_last_day(dbt.dateadd('month', var('clv_backtest_holdout_months'), 'month_start')) }}
            <= {{ as_of_date() }}
    ) as candidates
    where cutoff_rank <= {{ var('clv_backtest_cutoffs') }}
),

per_customer as (
    select
        cutoffs.cutoff_date,
        cutoffs.holdout_end_date,
        purchase_days.customer_id,
        sum(case when purchase_days.purchase_date <= cutoffs.cutoff_date then 1 else 0 end) - 1 as frequency,
        min(purchase_days.purchase_date) as first_purchase_date,
        max(case when purchase_days.purchase_date <= cutoffs.cutoff_date then purchase_days.purchase_date end)
            as last_purchase_date,
        sum(case when purchase_days.purchase_date > cutoffs.cutoff_date then 1 else 0 end) as holdout_purchases
    from {{ ref('int_clv__purchase_days') }} as purchase_days
    inner join cutoffs
        on purchase_days.purchase_date <= cutoffs.holdout_end_date
    group by cutoffs.cutoff_date, cutoffs.holdout_end_date, purchase_days.customer_id
),

calibration as (
    select
        cutoff_date,
        holdout_end_date,
        {{ dbt.datediff('cutoff_date', 'holdout_end_date', 'day') }} as holdout_days,
        frequency,
        {{ dbt.datediff('first_purchase_date', 'last_purchase_date', 'day') }} as recency_days,
        {{ dbt.datediff('first_purchase_date', 'cutoff_date', 'day') }} as t_days,
        holdout_purchases
    from per_customer
    where first_purchase_date <= cutoff_date
)

select
    cutoff_date,
    holdout_end_date,
    cast(holdout_days as {{ dbt.type_bigint() }}) as holdout_days,
    cast(frequency as {{ dbt.type_bigint() }}) as frequency,
    cast(recency_days as {{ dbt.type_bigint() }}) as recency_days,
    cast(t_days as {{ dbt.type_bigint() }}) as t_days,
    cast(count(*) as {{ dbt.type_bigint() }}) as customers,
    cast(sum(holdout_purchases) as {{ dbt.type_bigint() }}) as holdout_purchases
from calibration
group by cutoff_date, holdout_end_date, holdout_days, frequency, recency_days, t_days
