"""Bring your own data: a business with only shop exports gets every mart that needs only orders,
and the CRM/support marts empty, not errors. Built through the real Dagster job."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import build_through_dagster, settings_under

from orchestration.settings import SAMPLE_LANDING_DIR

pytestmark = pytest.mark.slow

ORDER_MARTS = (
    "fct_orders",
    "dim_customers",
    "fct_customer_months",
    "mart_retention_cohorts",
    "mart_customer_flows",
    "mart_customer_value",
    "mart_customer_equity",
    "mart_lifecycle_funnel",
    "mart_retention_mix",
)


@pytest.fixture(scope="module")
def orders_only(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("orders_only")
    landing = root / "landing"
    shutil.copytree(SAMPLE_LANDING_DIR / "orders", landing / "orders")
    settings = settings_under(root, landing_dir=landing)
    result = build_through_dagster(settings)
    return settings, result


def test_an_orders_only_landing_dir_builds(orders_only):
    _, result = orders_only
    assert result.success, [e.message for e in result.all_events if e.is_step_failure]


def test_order_marts_are_filled_and_crm_support_marts_empty(orders_only):
    settings, _ = orders_only
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        for mart in ORDER_MARTS:
            assert con.execute(f"select count(*) from marts.{mart}").fetchone()[0] > 0, mart
        assert con.execute("select count(*) from marts.fct_tickets").fetchone()[0] == 0
        assert con.execute("select count(*) from raw.crm_contacts").fetchone()[0] == 0
        # Without a CRM every customer is a guest keyed by the checkout email, acquired through `unknown`.
        channels = {
            r[0]
            for r in con.execute("select distinct acquisition_channel from marts.dim_customers").fetchall()
        }
        assert channels == {"unknown"}


def test_every_order_is_kept_except_internal_domains(orders_only):
    """Independent count from the raw layer: distinct order ids, less orders at the internal test domain."""
    settings, _ = orders_only
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        orders = con.execute("select order_id, email from raw.shop_orders").df()
        in_mart = con.execute("select count(*) from marts.fct_orders").fetchone()[0]
    emails = orders.drop_duplicates("order_id")["email"].str.strip().str.lower()
    expected = int((~emails.str.endswith("@example-internal.test")).sum())
    assert in_mart == expected


def test_funnel_starts_at_purchase_and_the_mix_shows_only_the_order_lever(orders_only):
    """No CRM: every funnel row is a guest row starting at purchase (no lead or contact counts), with as many
    purchasers as distinct non-internal checkout emails with a completed order (counted from raw); the mix has
    only the lever orders carry data for; the report says where the funnel starts."""
    settings, _ = orders_only
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        starts = con.execute(
            "select distinct entry_point, funnel_start from marts.mart_lifecycle_funnel"
        ).fetchall()
        before_purchase = con.execute(
            "select count(*) from marts.mart_lifecycle_funnel where leads is not null or contacts is not null"
        ).fetchone()[0]
        purchasers = con.execute(
            "select sum(purchasers) from marts.mart_lifecycle_funnel where acquisition_channel = 'all'"
        ).fetchone()[0]
        levers = {r[0] for r in con.execute("select distinct lever from marts.mart_retention_mix").fetchall()}
        orders = con.execute("select order_id, email, status, _file, _line from raw.shop_orders").df()
    assert starts == [("guest", "purchase")]
    assert before_purchase == 0
    latest = orders.sort_values(["_file", "_line"]).drop_duplicates("order_id", keep="last")
    completed = latest[latest["status"] != "cancelled"]
    emails = completed["email"].str.strip().str.lower()
    assert purchasers == emails[~emails.str.endswith("@example-internal.test")].nunique()
    assert levers == {"loyalty_promo"}
    report = (Path(settings.reports_dir) / "report.html").read_text()
    assert "the funnel starts at purchase" in report
