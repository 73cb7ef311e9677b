-- The equity mart's cash flow ('all' rows, and the channels together) sums to fct_orders' net revenue.
-- Whole-table reconciliation: runs with var full_checks (weekly) and on a full refresh (macro full_checks).
-- depends_on: {{ ref('fct_orders') }}
-- depends_on: {{ ref('mart_customer_equity') }}
{% if full_checks() %}
with expected as (
    select sum(net_revenue) as total from {{ ref('fct_orders') }} where is_completed
),

actual as (
    select 'all' as rows_summed, sum(cash_flow) as total
    from {{ ref('mart_customer_equity') }}
    where acquisition_channel = 'all'
    union all
    select 'channels', sum(cash_flow)
    from {{ ref('mart_customer_equity') }}
    where acquisition_channel <> 'all'
)

select actual.rows_summed, actual.total, expected.total as expected_total
from actual
cross join expected
where abs(coalesce(actual.total, 0) - coalesce(expected.total, 0)) > 1e-6 * (1 + abs(coalesce(expected.total, 0)))
{% else %}
select 1 as not_checked_on_an_increment where 1 = 0
{% endif %}
