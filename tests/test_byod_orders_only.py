"""Bring your own data: a business with only shop exports gets every mart that needs only orders,
and the CRM/support marts empty, not errors. Built through the real Dagster job."""

from __future__ import annotations

import shutil

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
