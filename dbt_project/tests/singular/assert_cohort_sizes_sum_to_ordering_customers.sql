-- Cohort sizes at offset 0 ('all' rows, and the channels together) sum to the customers with a completed order.
-- Whole-table reconciliation: runs with var full_checks (weekly) and on a full refresh (macro full_checks).
-- depends_on: {{ ref('fct_orders') }}
-- depends_on: {{ ref('mart_retention_cohorts') }}
{% if full_checks() %}
with expected as (
    select count(distinct customer_id) as customers from {{ ref('fct_orders') }} where is_completed
),

actual as (
    select 'all' as rows_summed, sum(cohort_size) as customers
    from {{ ref('mart_retention_cohorts') }}
    where month_offset = 0 and acquisition_channel = 'all'
    union all
    select 'channels', sum(cohort_size)
    from {{ ref('mart_retention_cohorts') }}
    where month_offset = 0 and acquisition_channel <> 'all'
)

select actual.rows_summed, actual.customers, expected.customers as expected_customers
from actual
cross join expected
where coalesce(actual.customers, 0) <> expected.customers
{% else %}
select 1 as not_checked_on_an_increment where 1 = 0
{% endif %}
