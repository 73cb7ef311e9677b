"""mart_clv_backtest on the sample warehouse equals an independent recomputation in pandas.

From the purchase days the warehouse holds (intermediate.int_clv__purchase_days: one row per customer and
UTC day with a completed order), pandas picks the cutoffs (the last clv_backtest_cutoffs month ends whose
clv_backtest_holdout_months-month holdout ends by as_of_date), builds every customer's calibration summary and
holdout count one customer at a time (no compression), fits BG/NBD on those per-customer rows and predicts the
holdout. Customers and actual purchase days must match exactly; predictions to 1e-4 relative (two maximum
likelihood runs over the same likelihood, one on weighted unique rows, one on every customer).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.lib.clv.backtest import fit_backtest
from orchestration.lib.clv.bgnbd import conditional_expected_purchases, fit_bgnbd
from orchestration.settings import Settings

CUTOFFS, HOLDOUT_MONTHS, TOP, UNIT_DAYS = 6, 6, 7, 7.0  # dbt_project.yml defaults


@pytest.fixture(scope="module")
def warehouse(built_warehouse: Settings) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        return {
            "days": con.sql(
                "select customer_id, purchase_date from intermediate.int_clv__purchase_days"
            ).df(),
            "as_of": con.sql("select as_of_date from intermediate.int_as_of_date__resolved").df(),
            "mart": con.sql("select * from marts.mart_clv_backtest").df(),
        }


def expected_backtest(days: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    days = days.assign(purchase_date=pd.to_datetime(days["purchase_date"]))
    month = pd.Period(as_of, "M")
    cutoffs = []
    while len(cutoffs) < CUTOFFS:
        holdout_end = (month + HOLDOUT_MONTHS).to_timestamp(how="end").normalize()
        if holdout_end <= as_of:
            cutoffs.append((month.to_timestamp(how="end").normalize(), holdout_end))
        month -= 1
    out = []
    for cutoff, holdout_end in cutoffs:
        calibration = days[days["purchase_date"] <= cutoff].groupby("customer_id")["purchase_date"]
        per = pd.DataFrame({
            "x": calibration.count() - 1,
            "tx": (calibration.max() - calibration.min()).dt.days / UNIT_DAYS,
            "T": (cutoff - calibration.min()).dt.days / UNIT_DAYS,
        })  # fmt: skip
        holdout = days[(days["purchase_date"] > cutoff) & (days["purchase_date"] <= holdout_end)]
        per["actual"] = holdout.groupby("customer_id").size().reindex(per.index, fill_value=0)
        bg = fit_bgnbd(per["x"].to_numpy(float), per["tx"].to_numpy(), per["T"].to_numpy())
        horizon = (holdout_end - cutoff).days / UNIT_DAYS
        per["predicted"] = conditional_expected_purchases(bg, horizon, per["x"], per["tx"], per["T"])
        per["bucket"] = np.where(per["x"] >= TOP, f"{TOP}+", per["x"].astype(str))
        for bucket, group in [*per.groupby("bucket"), ("all", per)]:
            out.append({
                "cutoff_date": cutoff, "holdout_end_date": holdout_end, "frequency_bucket": bucket,
                "customers": len(group), "actual_purchases": int(group["actual"].sum()),
                "predicted_purchases": float(group["predicted"].sum()),
            })  # fmt: skip
    return pd.DataFrame(out)


def test_backtest_matches_an_independent_recomputation(warehouse):
    as_of = pd.Timestamp(warehouse["as_of"]["as_of_date"].iloc[0])
    expected = expected_backtest(warehouse["days"], as_of)
    mart = warehouse["mart"].assign(
        cutoff_date=lambda f: pd.to_datetime(f["cutoff_date"]),
        holdout_end_date=lambda f: pd.to_datetime(f["holdout_end_date"]),
    )
    keys = ["cutoff_date", "frequency_bucket"]
    joined = expected.merge(mart, on=keys, how="outer", suffixes=("_expected", ""), indicator=True)
    assert (joined["_merge"] == "both").all(), joined.loc[joined["_merge"] != "both", [*keys, "_merge"]]
    assert len(expected["cutoff_date"].unique()) == CUTOFFS
    assert joined["fit_converged"].all()
    pd.testing.assert_series_equal(
        joined["holdout_end_date"], joined["holdout_end_date_expected"], check_names=False
    )
    for column in ("customers", "actual_purchases"):
        assert (joined[column] == joined[f"{column}_expected"]).all(), column
    np.testing.assert_allclose(
        joined["predicted_purchases"], joined["predicted_purchases_expected"], rtol=1e-4
    )
    np.testing.assert_allclose(
        joined["error"],
        joined["predicted_purchases_expected"] - joined["actual_purchases"],
        rtol=1e-4,
        atol=1e-6,
    )


def test_the_sample_backtest_is_not_trivial(warehouse):
    """Guards the comparison: several buckets, purchases in the holdout, a top bucket."""
    mart = warehouse["mart"]
    assert {"0", "1", f"{TOP}+", "all"} <= set(mart["frequency_bucket"])
    assert (mart.loc[mart["frequency_bucket"] == "all", "actual_purchases"] > 0).all()


def _backtest_tables(con: duckdb.DuckDBPyConnection) -> tuple[list, list]:
    return (
        con.sql("select * exclude (input_key) from clv.backtest_fits order by cutoff_date").fetchall(),
        con.sql("select * from clv.backtest_predictions order by all").fetchall(),
    )


def test_a_cutoff_whose_input_is_unchanged_keeps_its_fit(built_warehouse: Settings, tmp_path: Path):
    """A day that changes no cutoff's summary refits none, with the same numbers as fitting all of them; a
    change in one cutoff's rows refits that cutoff alone, as a fresh fit of the new rows would."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_warehouse.duckdb_path, copy)
    with duckdb.connect(str(copy)) as con:
        run = fit_backtest(con)  # the pipeline's step wrote these fits: the inputs are the same
        assert run.reused_cutoffs == run.cutoffs == CUTOFFS
        kept = _backtest_tables(con)
        assert fit_backtest(con, reuse=False).reused_cutoffs == 0
        assert _backtest_tables(con) == kept

        con.execute(
            "create or replace table intermediate.int_clv__backtest_summary as "
            "from intermediate.int_clv__backtest_summary "
            "where not (cutoff_date = (select max(cutoff_date) from intermediate.int_clv__backtest_summary) "
            "and frequency = 0)"
        )
        assert fit_backtest(con).reused_cutoffs == CUTOFFS - 1
        partly_kept = _backtest_tables(con)
        fit_backtest(con, reuse=False)
        assert _backtest_tables(con) == partly_kept != kept
