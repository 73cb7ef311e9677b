{{ config(tags=['clv_scored']) }}
-- One row per backtest cutoff and calibration frequency bucket (0, 1, ... and the top bucket '<n>+', plus 'all'):
-- customers, purchase days predicted for the holdout by BG/NBD fitted on data up to the cutoff, purchase days
-- that actually happened, and the error (DECISIONS.md, CLV backtest). The calibration-vs-holdout comparison of
-- Fader, Hardie and Lee (2005), repeated at several cutoffs.
{% set top = var('clv_backtest_top_frequency') %}
with summary as (
    select * from {{ ref('int_clv__backtest_summary') }}
),

fits as (
    select * from {{ source('clv', 'backtest_fits') }}
),

rows_scored as (
    select
        summary.cutoff_date,
        summary.holdout_end_date,
        case when summary.frequency >= {{ top }} then {{ top }} else summary.frequency end as frequency_min,
        summary.customers,
        summary.holdout_purchases,
        summary.customers * predictions.expected_purchases as predicted_purchases
    from summary
    left join {{ source('clv', 'backtest_predictions') }} as predictions
        on summary.cutoff_date = predictions.cutoff_date
        and summary.frequency = predictions.frequency
        and summary.recency_days = predictions.recency_days
        and summary.t_days = predictions.t_days
),

buckets as (
    select
        cutoff_date,
        holdout_end_date,
        cast(frequency_min as {{ dbt.type_string() }})
        || case when frequency_min = {{ top }} then '+' else '' end as frequency_bucket,
        frequency_min,
        sum(customers) as customers,
        sum(holdout_purchases) as actual_purchases,
        sum(predicted_purchases) as predicted_purchases
    from rows_scored
    group by cutoff_date, holdout_end_date, frequency_min
    union all
    select
        cutoff_date,
        holdout_end_date,
        'all',
        cast(null as {{ dbt.type_bigint() }}),
        sum(customers),
        sum(holdout_purchases),
        sum(predicted_purchases)
    from rows_scored
    group by cutoff_date, holdout_end_date
)

select
    cast(buckets.cutoff_date as date) as cutoff_date,
    cast(buckets.holdout_end_date as date) as holdout_end_date,
    cast(buckets.frequency_bucket as {{ dbt.type_string() }}) as frequency_bucket,
    cast(buckets.frequency_min as {{ dbt.type_bigint() }}) as frequency_min,
    cast(buckets.customers as {{ dbt.type_bigint() }}) as customers,
    cast(buckets.actual_purchases as {{ dbt.type_bigint() }}) as actual_purchases,
    cast(case when fits.converged then buckets.predicted_purchases end as {{ type_double() }}) as predicted_purchases,
    cast(1e0 * buckets.actual_purchases / buckets.customers as {{ type_double() }}) as actual_per_customer,
    cast(
        case when fits.converged then buckets.predicted_purchases / buckets.customers end as {{ type_double() }}
    ) as predicted_per_customer,
    cast(
        case when fits.converged then buckets.predicted_purchases - buckets.actual_purchases end
        as {{ type_double() }}
    ) as error,
    cast(
        case when fits.converged then (buckets.predicted_purchases - buckets.actual_purchases)
            / nullif(buckets.actual_purchases, 0) end
        as {{ type_double() }}
    ) as relative_error,
    cast(fits.converged as {{ dbt.type_boolean() }}) as fit_converged,
    cast(fits.r as {{ type_double() }}) as r,
    cast(fits.alpha as {{ type_double() }}) as alpha,
    cast(fits.a as {{ type_double() }}) as a,
    cast(fits.b as {{ type_double() }}) as b
from buckets
left join fits
    on buckets.cutoff_date = fits.cutoff_date
