-- The CLV backtest's calibration / holdout split (DECISIONS.md, CLV backtest), compressed for the Python step:
-- one row per cutoff and distinct (frequency, recency_days, t_days) of the customers whose first purchase day is
-- on or before the cutoff, with how many customers share it and their purchase days in the holdout. Times in
-- whole days: the step divides by clv_time_unit_days, the resolution DOMAIN.md asks for (days / 7, not whole
-- weeks). The per-customer split is int_clv__backtest_customers (incremental); this is a group-by over it.
select
    cutoff_date,
    holdout_end_date,
    holdout_days,
    frequency,
    recency_days,
    t_days,
    cast(count(*) as {{ dbt.type_bigint() }}) as customers,
    cast(sum(holdout_purchases) as {{ dbt.type_bigint() }}) as holdout_purchases
from {{ ref('int_clv__backtest_customers') }}
group by cutoff_date, holdout_end_date, holdout_days, frequency, recency_days, t_days
