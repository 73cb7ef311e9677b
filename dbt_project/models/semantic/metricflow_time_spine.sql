-- One row per day: the time spine MetricFlow joins metrics to (cumulative and offset metrics, and
-- filling days or months with no rows). A fixed span wide enough for any export this warehouse takes.
with days as (
    {{ dbt.date_spine('day', "cast('2000-01-01' as date)", "cast('2051-01-01' as date)") }}
)

select cast(date_day as date) as date_day
from days
