"""Return on Customer over the customers on the books at the start of the month, and the acquisition
contribution beside it (issue 13, points 4 and 7), recomputed in pandas.

Customers, their first completed month and their monthly cash flow come from the plain-pandas model of the
raw layer (tests/independent_model.py); each customer's CLV at each month end is the CLV step's input to
the mart (intermediate.int_clv__scored, checked against the fit elsewhere). From those, per month and
channel: the customers on the books at the start (a completed order before the month), their equity at the
previous month end (summed customer by customer, not read off the previous row), their cash flow and
equity at the month end; the month's new customers' cash flow and equity. Cash flow is net revenue times
clv_margin.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from independent_model import build, frame_differences, month_start, read_raw

from orchestration.settings import Settings

KEYS = ["month", "acquisition_channel"]


@pytest.fixture(scope="module")
def mart(built_warehouse: Settings) -> pd.DataFrame:
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        equity = con.sql("select * from marts.mart_customer_equity").df()
    equity["month"] = pd.to_datetime(equity["month_start"]).astype("datetime64[us]")
    return equity


@pytest.fixture(scope="module")
def expected(built_warehouse: Settings, mart: pd.DataFrame) -> pd.DataFrame:
    model = build(read_raw(built_warehouse.duckdb_path))
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        clv = con.sql(
            "select customer_id, month_end, clv from intermediate.int_clv__scored where month_end is not null"
        ).df()
        margin = con.sql("select margin from clv.parameters").df()["margin"].iloc[0]
    clv["month_idx"] = (
        pd.to_datetime(clv["month_end"]).dt.year * 12 + pd.to_datetime(clv["month_end"]).dt.month - 1
    )
    cm = model.customer_months
    cm = cm[cm["first_completed_month_idx"] <= cm["month_idx"]].copy()  # customers with a purchase by then
    cm = cm.merge(clv[["customer_id", "month_idx", "clv"]], on=["customer_id", "month_idx"], how="left")
    previous = clv.assign(month_idx=clv["month_idx"] + 1).rename(columns={"clv": "clv_start"})
    cm = cm.merge(
        previous[["customer_id", "month_idx", "clv_start"]], on=["customer_id", "month_idx"], how="left"
    )
    new = cm["first_completed_month_idx"] == cm["month_idx"]
    cash = margin * cm["net_revenue"]
    cm = cm.assign(
        customers=1,
        customers_start=(~new).astype(int),
        new_customers=new.astype(int),
        start=cm["clv_start"].where(~new, 0.0),
        retained_cash_flow=cash.where(~new, 0.0),
        retained_equity_end=cm["clv"].where(~new, 0.0),
        acquisition_cash_flow=cash.where(new, 0.0),
        acquisition_equity=cm["clv"].where(new, 0.0),
    )
    columns = [
        "customers",
        "customers_start",
        "new_customers",
        "start",
        "retained_cash_flow",
        "retained_equity_end",
        "acquisition_cash_flow",
        "acquisition_equity",
    ]
    both = pd.concat([cm, cm.assign(acquisition_channel="all")], ignore_index=True)
    sums = both.groupby(["month_idx", "acquisition_channel"])[columns].sum().reset_index()
    sums["month"] = month_start(sums["month_idx"])
    grid = mart[KEYS].merge(sums, on=KEYS, how="left").fillna({c: 0 for c in columns})
    first_month = grid["month"] == grid["month"].min()
    grid["equity_start"] = grid["start"].where(~first_month)
    grid["roc"] = (grid["retained_cash_flow"] + grid["retained_equity_end"] - grid["equity_start"]) / grid[
        "equity_start"
    ].replace(0, np.nan)
    grid["acquisition_contribution"] = grid["acquisition_cash_flow"] + grid["acquisition_equity"]
    grid["cash_flow"] = grid["retained_cash_flow"] + grid["acquisition_cash_flow"]
    return grid


def test_roc_is_over_the_customers_on_the_books_at_the_start(expected, mart):
    problems = frame_differences(
        expected,
        mart,
        KEYS,
        exact=["customers", "customers_start", "new_customers"],
        approx=[
            "equity_start",
            "retained_cash_flow",
            "retained_equity_end",
            "roc",
            "acquisition_cash_flow",
            "acquisition_equity",
            "acquisition_contribution",
            "cash_flow",
        ],
    )
    assert not problems, "\n\n".join(problems)


def test_the_split_adds_up(mart):
    """Cash flow and equity split into retained + acquisition; the start equity is last month's equity."""
    np.testing.assert_allclose(mart["cash_flow"], mart["retained_cash_flow"] + mart["acquisition_cash_flow"])
    np.testing.assert_allclose(
        mart["customer_equity"], mart["retained_equity_end"] + mart["acquisition_equity"], rtol=1e-9
    )
    assert (mart["customers"] == mart["customers_start"] + mart["new_customers"]).all()
    ordered = mart.sort_values(["acquisition_channel", "month"])
    np.testing.assert_allclose(
        ordered["equity_start"], ordered.groupby("acquisition_channel")["customer_equity"].shift(), rtol=1e-9
    )


def test_is_partial_month_flags_only_an_unfinished_as_of_month(built_warehouse: Settings, mart):
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        as_of = pd.Timestamp(
            con.sql("select max(month_end) as m from marts.fct_customer_months").df()["m"].iloc[0]
        )
        flags = {
            name: con.sql(f"select {month} as month, is_partial_month from marts.{name}").df()
            for name, month in [
                ("fct_customer_months", "month_start"),
                ("fct_lifecycle_transitions", "month_start"),
                ("mart_customer_flows", "month_start"),
                ("mart_retention_cohorts", "activity_month"),
                ("mart_customer_equity", "month_start"),
            ]
        }
    unfinished = as_of != as_of + pd.offsets.MonthEnd(0)
    for name, frame in flags.items():
        in_as_of_month = pd.to_datetime(frame["month"]) == as_of.replace(day=1)
        assert (frame["is_partial_month"] == (in_as_of_month & unfinished)).all(), name
