-- The CLV backtest's cutoffs (DECISIONS.md, CLV backtest): the last var clv_backtest_cutoffs month ends whose
-- holdout (var clv_backtest_holdout_months whole months after the cutoff) ends on or before as_of_date, so every
-- holdout is fully observed. They move only when as_of_date reaches a new month end.
select
    cutoff_date,
    holdout_end_date,
    {{ days_between('cutoff_date', 'holdout_end_date') }} as holdout_days
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
