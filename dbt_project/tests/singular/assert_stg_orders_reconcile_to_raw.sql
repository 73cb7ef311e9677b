-- stg_shop__orders holds the latest copy (last file, last line) of every order in raw.shop_orders: the order
-- count and the local-currency subtotal match raw, recomputed here without staging's SQL. Returns a row when
-- they disagree. Whole-table reconciliation (every raw copy of every order): runs with var full_checks (weekly)
-- and on a full refresh (macro full_checks); a daily build checks staging through the facts' tests.
-- depends_on: {{ ref('stg_shop__orders') }}
{% if full_checks() %}
with latest as (
    select
        subtotal,
        row_number() over (partition by order_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'shop_orders') }}
),

expected as (
    select count(*) as orders, coalesce(sum(subtotal), 0) as subtotal
    from latest
    where copy_rank = 1
),

actual as (
    select count(*) as orders, coalesce(sum(subtotal_local), 0) as subtotal
    from {{ ref('stg_shop__orders') }}
)

select
    expected.orders as expected_orders,
    actual.orders as actual_orders,
    expected.subtotal as expected_subtotal,
    actual.subtotal as actual_subtotal
from expected
cross join actual
where expected.orders <> actual.orders
    or abs(expected.subtotal - actual.subtotal) > 1e-2
{% else %}
select 1 as not_checked_on_an_increment where 1 = 0
{% endif %}
