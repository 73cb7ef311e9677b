-- Net revenue in the customer-month spine (the source of flows) and in the cohort table ('all' rows) sums
-- to the net revenue of fct_orders, which reconciles to staging (assert_fct_orders_net_revenue_reconciles_to_staging).
-- Whole-table reconciliation: runs with var full_checks (weekly) and on a full refresh (macro full_checks).
-- depends_on: {{ ref('fct_customer_months') }}
-- depends_on: {{ ref('fct_orders') }}
-- depends_on: {{ ref('mart_retention_cohorts') }}
{% if full_checks() %}
with expected as (
    select sum(net_revenue) as total from {{ ref('fct_orders') }} where is_completed
),

actual as (
    select 'fct_customer_months' as mart, sum(net_revenue) as total from {{ ref('fct_customer_months') }}
    union all
    select 'mart_retention_cohorts', sum(net_revenue)
    from {{ ref('mart_retention_cohorts') }}
    where acquisition_channel = 'all'
    union all
    select 'mart_retention_cohorts by channel', sum(net_revenue)
    from {{ ref('mart_retention_cohorts') }}
    where acquisition_channel <> 'all'
)

select actual.mart, actual.total, expected.total as expected_total
from actual
cross join expected
where abs(coalesce(actual.total, 0) - coalesce(expected.total, 0)) > 1e-6 * (1 + abs(coalesce(expected.total, 0)))
{% else %}
select 1 as not_checked_on_an_increment where 1 = 0
{% endif %}
