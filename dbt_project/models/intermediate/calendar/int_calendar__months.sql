-- One row per calendar month from the first month any customer is known to the as_of_date month, with
-- its month_end (last day, or as_of_date in its own month). Up to var max_history_months months.
with bounds as (
    select
        min({{ month_start('first_known_date') }}) as first_month,
        {{ month_start(as_of_date()) }} as last_month
    from {{ ref('int_customers__resolved') }}
    where not is_internal
),

numbers as (
    {{ dbt.generate_series(var('max_history_months')) }}
),

months as (
    select cast({{ dbt.dateadd('month', 'numbers.generated_number - 1', 'bounds.first_month') }} as date) as month_start
    from bounds
    cross join numbers
)

select
    months.month_start,
    case
        when {{ month_last_day('months.month_start') }} > {{ as_of_date() }} then {{ as_of_date() }}
        else {{ month_last_day('months.month_start') }}
    end as month_end
from months
cross join bounds
where months.month_start <= bounds.last_month
