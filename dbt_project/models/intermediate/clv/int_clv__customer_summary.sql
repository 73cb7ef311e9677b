-- One row per customer with a completed order: the BG/NBD / Gamma-Gamma inputs as of as_of_date, in
-- days (recency_days, t_days: the resolution, and the key the CLV step compresses and scores on) and in time
-- units of clv_time_unit_days (recency, t = days / unit; DECISIONS.md, CLV). Read by the Python CLV step.
-- The month-end summary's row of the as_of_date month is the same history cut at as_of_date (that month's
-- month_end), so this is read from it instead of aggregating every purchase again.
select
    summaries.customer_id,
    summaries.acquisition_channel,
    summaries.frequency,
    summaries.recency_days,
    summaries.t_days,
    summaries.recency,
    summaries.t,
    summaries.monetary_value,
    spine.first_order_date as first_purchase_date,
    spine.last_order_date as last_purchase_date
from {{ ref('int_clv__month_end_summary') }} as summaries
inner join {{ ref('int_customer_months__spined') }} as spine
    on summaries.customer_id = spine.customer_id
    and summaries.month_end = spine.month_end
where summaries.month_end = {{ as_of_date() }}
