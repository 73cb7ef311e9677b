"""Cross-layer reconciliation: the same total computed from two layers must agree.

raw -> staging: orders and their local-currency subtotal, taking the latest copy of each order from raw
independently of staging's SQL. Within the marts: net revenue of completed orders is the same in
fct_orders, fct_customer_months, dim_customers, the 'all' cohorts and the 'all' equity cash flow; every
resolved (non-internal) identity is one dim_customers row, and every order's customer is in it.
(Rows in files = accepted + quarantined is reconciled per file in the raw_load_health suite.)
"""

from __future__ import annotations

from orchestration.lib.quality.gx_checks import SqlFrame
from orchestration.lib.quality.thresholds import MONEY_TOLERANCE

# Each source is read once (staging is a view: its dedupe and currency join are the costly part).
TOTALS = """
raw_orders as materialized (
    select count(*) as orders, coalesce(sum(subtotal), 0) as subtotal
    from (select max_by(subtotal, (_file, _line)) as subtotal from raw.shop_orders group by order_id)
),
stg_orders as materialized (
    select count(*) as orders, coalesce(sum(subtotal_local), 0) as subtotal from staging.stg_shop__orders
),
fct as materialized (
    select coalesce(sum(net_revenue) filter (is_completed), 0) as net_revenue from marts.fct_orders
)"""

# (comparison, left SQL, right SQL, tolerance): each side is a scalar subquery over TOTALS or a mart.
COMPARISONS: tuple[tuple[str, str, str, float], ...] = (
    (
        "orders: distinct order_id in raw.shop_orders = rows of stg_shop__orders",
        "select orders from raw_orders",
        "select orders from stg_orders",
        0,
    ),
    (
        "revenue: subtotal of the latest raw copy of each order = stg_shop__orders.subtotal_local",
        "select subtotal from raw_orders",
        "select subtotal from stg_orders",
        MONEY_TOLERANCE,
    ),
    (
        "revenue: fct_orders (completed) = fct_customer_months",
        "select net_revenue from fct",
        "select coalesce(sum(net_revenue), 0) from marts.fct_customer_months",
        MONEY_TOLERANCE,
    ),
    (
        "revenue: fct_orders (completed) = dim_customers",
        "select net_revenue from fct",
        "select coalesce(sum(net_revenue), 0) from marts.dim_customers",
        MONEY_TOLERANCE,
    ),
    (
        "revenue: fct_orders (completed) = mart_retention_cohorts ('all')",
        "select net_revenue from fct",
        "select coalesce(sum(net_revenue), 0) from marts.mart_retention_cohorts "
        "where acquisition_channel = 'all'",
        MONEY_TOLERANCE,
    ),
    (
        "revenue: fct_orders (completed) = mart_customer_equity cash_flow ('all')",
        "select net_revenue from fct",
        "select coalesce(sum(cash_flow), 0) from marts.mart_customer_equity "
        "where acquisition_channel = 'all'",
        MONEY_TOLERANCE,
    ),
    (
        "customers: distinct resolved non-internal identities = rows of dim_customers",
        "select count(distinct customer_id) from intermediate.int_customers__resolved where not is_internal",
        "select count(*) from marts.dim_customers",
        0,
    ),
    (
        "customers: customers of fct_orders missing from dim_customers = 0",
        "select count(distinct customer_id) from marts.fct_orders "
        "where customer_id not in (select customer_id from marts.dim_customers)",
        "select 0",
        0,
    ),
)

RECONCILIATION_ASSETS = (
    ["raw", "shop_orders"],
    ["stg_shop__orders"],
    ["fct_orders"],
    ["fct_customer_months"],
    ["dim_customers"],
    ["mart_retention_cohorts"],
    ["mart_customer_equity"],
)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def reconciliation_query() -> str:
    parts = [
        f"select {_literal(name)} as comparison, ({left})::double as left_value, "
        f"({right})::double as right_value, {tolerance}::double as tolerance"
        for name, left, right, tolerance in COMPARISONS
    ]
    union = "\nunion all\n".join(parts)
    return f"with {TOTALS}\nselect *, abs(left_value - right_value) as gap from ({union})"


RECONCILIATION = SqlFrame(
    reconciliation_query(), "warehouse reconciliation", ("comparison", "left_value", "right_value")
)
