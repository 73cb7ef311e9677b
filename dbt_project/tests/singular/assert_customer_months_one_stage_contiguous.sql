-- Every non-internal customer has exactly one row with a stage for each month from its first known month to
-- the as_of_date month, no gaps: rows = months between, min = first known month, max = as_of_date month.
-- Whole-table reconciliation: runs with var full_checks (weekly) and on a full refresh (macro full_checks).
-- depends_on: {{ ref('fct_customer_months') }}
-- depends_on: {{ ref('int_customers__resolved') }}
{% if full_checks() %}
with customers as (
    select customer_id, {{ month_start('first_known_date') }} as first_month
    from {{ ref('int_customers__resolved') }}
    where not is_internal
),

months as (
    select
        customer_id,
        count(*) as month_rows,
        count(distinct month_start) as distinct_months,
        sum(case when lifecycle_stage is null then 1 else 0 end) as missing_stages,
        min(month_start) as first_month,
        max(month_start) as last_month
    from {{ ref('fct_customer_months') }}
    group by customer_id
)

select customers.customer_id, customers.first_month as expected_first_month, months.*
from customers
left join months on customers.customer_id = months.customer_id
where months.customer_id is null
    or months.missing_stages > 0
    or months.month_rows <> months.distinct_months
    or months.first_month <> customers.first_month
    or months.last_month <> {{ month_start(as_of_date()) }}
    or months.month_rows <> {{ dbt.datediff('customers.first_month', month_start(as_of_date()), 'month') }} + 1
{% else %}
select 1 as not_checked_on_an_increment where 1 = 0
{% endif %}
