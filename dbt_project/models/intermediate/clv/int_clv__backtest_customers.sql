-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
{{ config(
    materialized=rewrite_materialization(),
    incremental_strategy="rewrite",
    rewrite="backtest_customer",
    on_schema_change="fail",
) }}
-- The CLV backtest's calibration / holdout split per customer (DECISIONS.md, CLV backtest): one row per cutoff and
-- customer whose first purchase day is on or before it, with frequency, recency_days and t_days at the cutoff and
-- the purchase days in the holdout. The month-end summary holds the same history cut at every month end: its
-- cutoff row is the calibration, and the holdout is the purchase days its holdout-end row adds.
-- Incremental (DECISIONS.md, Incremental processing): a row changes only with its customer's purchase days or
-- with its cutoff, so affected customers' rows are computed again, every customer's rows of a cutoff the table
-- does not hold yet, and the rows of cutoffs no longer current are dropped (kind backtest_customer).
with cutoffs as (
    select * from {{ ref('int_clv__backtest_cutoffs') }}
),

summaries as (
    select customer_id, month_end, frequency, recency_days, t_days
    from {{ ref('int_clv__month_end_summary') }}
    {% if is_incremental() %}
    -- Only the month ends the rewritten rows below read: affected customers' and the new cutoffs'.
    where {{ incremental_rewrite_all() }}
        or customer_id in (select customer_id from {{ ref('int_incremental__affected_customers') }})
        or month_end in (
            select cutoff_date from cutoffs where {{ backtest_cutoff_is_new() }}
            union all
            select holdout_end_date from cutoffs where {{ backtest_cutoff_is_new() }}
        )
    {% endif %}
),

split as (
    select
        cutoffs.cutoff_date,
        cutoffs.holdout_end_date,
        calibration.customer_id,
        cast(cutoffs.holdout_days as {{ dbt.type_bigint() }}) as holdout_days,
        cast(calibration.frequency as {{ dbt.type_bigint() }}) as frequency,
        cast(calibration.recency_days as {{ dbt.type_bigint() }}) as recency_days,
        cast(calibration.t_days as {{ dbt.type_bigint() }}) as t_days,
        cast(holdout.frequency - calibration.frequency as {{ dbt.type_bigint() }}) as holdout_purchases
    from cutoffs
    inner join summaries as calibration
        on cutoffs.cutoff_date = calibration.month_end
    inner join summaries as holdout
        on calibration.customer_id = holdout.customer_id
        and cutoffs.holdout_end_date = holdout.month_end
)

select * from split
{% if is_incremental() %}where {{ rewritten_rows('backtest_customer') }}{% endif %}
