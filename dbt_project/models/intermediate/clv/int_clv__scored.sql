{{ config(tags=['clv_scored']) }}
-- One row per customer and month end (int_clv__month_end_summary) plus one per customer as of
-- as_of_date (int_clv__customer_summary, month_end null), scored: BG/NBD results joined from clv.rfm_scores
-- on (frequency, recency_days, t_days), expected order value from Gamma-Gamma, clv = margin * E[value] * discounted
-- expected purchases (DECISIONS.md, CLV).
with summaries as (
    select
        customer_id, acquisition_channel, cast(null as date) as month_end,
        frequency, recency_days, t_days, recency, t, monetary_value
    from {{ ref('int_clv__customer_summary') }}
    union all
    select customer_id, acquisition_channel, month_end, frequency, recency_days, t_days, recency, t, monetary_value
    from {{ ref('int_clv__month_end_summary') }}
),

parameters as (
    select * from {{ ref('int_clv__gamma_gamma_parameters') }}
),

scored as (
    select
        summaries.*,
        scores.p_alive,
        scores.expected_purchases,
        scores.discounted_expected_purchases,
        case
            when summaries.frequency > 0 and summaries.monetary_value is not null
                then parameters.gg_p * (parameters.gg_v + summaries.frequency * summaries.monetary_value)
                / (parameters.gg_p * summaries.frequency + parameters.gg_q - 1)
            else parameters.gg_p * parameters.gg_v / (parameters.gg_q - 1)
        end as expected_order_value
    from summaries
    cross join parameters
    left join {{ source('clv', 'rfm_scores') }} as scores
        on summaries.frequency = scores.frequency
        and summaries.recency_days = scores.recency_days
        and summaries.t_days = scores.t_days
)

select
    *,
    {{ var('clv_margin') }} * expected_order_value * discounted_expected_purchases as clv
from scored
