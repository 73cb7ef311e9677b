"""The lifecycle, cohort and flow marts of the sample warehouse equal a plain-pandas recomputation from raw.

tests/independent_model.py is written from DOMAIN.md and DECISIONS.md only (never from the dbt SQL); it reads
the raw layer the loader wrote and recomputes identity resolution, internal-account exclusion, dedup, UTC
dates, currency conversion, net revenue, as_of_date, stages, cohorts and flows. Integers must match
exactly, money and ratios to 1e-6 relative; a failure lists the first differing rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from independent_model import Model, build, equity_cash_and_customers, frame_differences, read_raw

from orchestration.settings import Settings


@pytest.fixture(scope="module")
def model(built_warehouse: Settings) -> Model:
    return build(read_raw(Path(built_warehouse.duckdb_path)))


@pytest.fixture(scope="module")
def marts(built_warehouse: Settings) -> dict[str, pd.DataFrame]:
    names = ("fct_customer_months", "mart_retention_cohorts", "mart_customer_flows", "mart_customer_equity")
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        return {name: con.sql(f"select * from marts.{name}").df() for name in names}


def assert_no_differences(problems: list[str]) -> None:
    assert not problems, "\n\n".join(problems)


def test_the_sample_is_not_trivial(model: Model):
    """Guards the comparisons below against passing on an empty or one-stage sample."""
    stages = set(model.customer_months["lifecycle_stage"])
    assert stages == {"prospect", "new", "active", "at_risk", "churned", "reactivated"}
    assert model.orders["is_guest"].any() and (~model.orders["completed"]).any()
    assert (model.orders["currency"] != "USD").any()


def test_as_of_date_is_the_latest_event(model: Model, marts):
    month_end = pd.to_datetime(marts["fct_customer_months"]["month_end"]).max()
    assert month_end == model.as_of_date


def test_customer_months(model: Model, marts):
    assert_no_differences(
        frame_differences(
            model.customer_months,
            marts["fct_customer_months"],
            keys=["customer_id", "month_start"],
            exact=["lifecycle_stage", "orders"],
            approx=["net_revenue"],
        )
    )


def test_customer_month_details(model: Model, marts):
    """The other defined columns: month_end (as_of in its own month), channel, previous stage, d."""
    assert_no_differences(
        frame_differences(
            model.customer_months,
            marts["fct_customer_months"],
            keys=["customer_id", "month_start"],
            exact=["month_end", "acquisition_channel", "previous_stage", "days_since_last_order"],
        )
    )


def test_retention_cohorts(model: Model, marts):
    assert_no_differences(
        frame_differences(
            model.cohorts,
            marts["mart_retention_cohorts"],
            keys=["cohort_month", "acquisition_channel", "month_offset"],
            exact=["cohort_size", "active_customers"],
            approx=["retention_rate", "net_revenue", "cumulative_revenue_per_customer", "revenue_retention"],
        )
    )


def test_customer_flows(model: Model, marts):
    assert_no_differences(
        frame_differences(
            model.flows,
            marts["mart_customer_flows"],
            keys=["month_start", "acquisition_channel"],
            exact=["customers_start", "gained", "kept", "lost", "won_back", "customers_end", "net_change"],
            approx=["acquisition_retention_ratio"],
        )
    )


def test_customer_equity_cash_flow_customers_and_roc_identity(model: Model, marts):
    """Cash flow and customer counts recomputed; ROC and equity change checked against the mart's own equity.

    Rows are matched by the month of `month_end` (DECISIONS.md does not say whether the as_of month's row
    ends on its last day or on as_of_date), on the mart's own months and channels (their range is not
    pinned either). equity_start is the same channel's previous month-end equity, null in a channel's first
    month; ROC = (retained cash + retained equity_end - equity_start) / equity_start over the customers on the
    books at the start (the split itself is recomputed in tests/test_customer_equity_roc.py).
    """
    keys = ["month", "acquisition_channel"]
    equity = marts["mart_customer_equity"].copy()
    equity["month"] = (
        pd.to_datetime(equity["month_end"]).dt.to_period("M").dt.start_time.astype("datetime64[us]")
    )
    equity = equity.sort_values(["acquisition_channel", "month"], ignore_index=True)
    expected = equity[keys].merge(equity_cash_and_customers(model.customer_months), on=keys, how="left")
    start = equity.groupby("acquisition_channel")["customer_equity"].shift()
    expected["roc"] = (equity["retained_cash_flow"] + equity["retained_equity_end"] - start) / start
    expected["equity_change"] = equity["customer_equity"] - start
    assert_no_differences(
        frame_differences(
            expected, equity, keys, exact=["customers"], approx=["cash_flow", "roc", "equity_change"]
        )
    )
