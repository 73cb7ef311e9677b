"""The CLV Dagster step against a temporary DuckDB whose intermediate tables the test writes itself."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import AssetKey, materialize

from orchestration.defs.clv.assets import clv_assets
from orchestration.lib.clv.bgnbd import fit_bgnbd
from orchestration.lib.clv.gamma_gamma import fit_gamma_gamma
from orchestration.lib.clv.simulation import simulate
from orchestration.lib.spark.engine import SparkEngine
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import Settings

SETTINGS = {
    "as_of_date": date(2025, 12, 31),
    "time_unit_days": 7,
    "horizon_months": 12,
    "annual_discount_rate": 0.10,
    "margin": 1.0,
}


def _customers(n: int, seed: int) -> pd.DataFrame:
    # Whole days, measured in weeks (days / 7), as int_clv__customer_summary has them.
    d = simulate(n, seed=seed, resolution=1 / 7)
    recency_days, t_days = np.round(d.recency * 7).astype("int64"), np.round(d.T * 7).astype("int64")
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "acquisition_channel": "web",
            "frequency": d.frequency.astype("int64"),
            "recency_days": recency_days,
            "t_days": t_days,
            "recency": recency_days / 7,
            "t": t_days / 7,
            "monetary_value": d.monetary_value,
            "first_purchase_date": date(2023, 1, 2),
            "last_purchase_date": date(2025, 6, 1),
        }
    )


def _month_ends(customers: pd.DataFrame) -> pd.DataFrame:
    # Each customer as of an earlier month end: 30 days younger, the last purchase no later than that.
    earlier = customers[customers["t_days"] >= 35].copy()
    earlier["t_days"] = earlier["t_days"] - 30
    earlier["recency_days"] = np.minimum(earlier["recency_days"], earlier["t_days"])
    earlier["t"], earlier["recency"] = earlier["t_days"] / 7, earlier["recency_days"] / 7
    earlier["month_end"] = date(2025, 11, 30)
    return earlier[
        ["customer_id", "acquisition_channel", "month_end", "frequency"]
        + ["recency_days", "t_days", "recency", "t", "monetary_value"]
    ]


def _warehouse(tmp_path: Path, customers: pd.DataFrame) -> DuckDBWarehouse:
    path = tmp_path / "warehouse.duckdb"
    settings = pd.DataFrame([SETTINGS])
    month_ends = _month_ends(customers)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists intermediate")
        for name, frame in [
            ("int_clv__customer_summary", customers),
            ("int_clv__month_end_summary", month_ends),
            ("int_clv__settings", settings),
        ]:
            con.register("frame", frame)
            con.execute(f"create or replace table intermediate.{name} as select * from frame")
            con.unregister("frame")
    return DuckDBWarehouse(path=str(path))


def _run(warehouse: DuckDBWarehouse):
    # The DuckDB engine (the default): the spark resource is declared but never started.
    settings = Settings(duckdb_path=warehouse.path)
    spark = SparkEngine(home=str(Path(warehouse.path).parent / "spark"))
    return materialize(
        clv_assets,
        resources={"warehouse": warehouse, "settings": settings, "spark": spark},
        raise_on_error=False,
    )


def _read(warehouse: DuckDBWarehouse, sql: str) -> pd.DataFrame:
    with duckdb.connect(warehouse.path, read_only=True) as con:
        return con.execute(sql).df()


def test_fit_scores_every_summary_row_and_records_the_fit(tmp_path):
    customers = _customers(3000, seed=7)
    warehouse = _warehouse(tmp_path, customers)
    result = _run(warehouse)
    assert result.success

    # Parameters: the same as fitting the per-customer arrays directly (no DuckDB aggregation involved).
    bg = fit_bgnbd(customers["frequency"], customers["recency"], customers["t"])
    repeat = customers[(customers["frequency"] > 0) & (customers["monetary_value"] > 0)]
    gg = fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"])
    params = _read(warehouse, "select * from clv.parameters")
    assert len(params) == 1
    row = params.iloc[0]
    for name in ("r", "alpha", "a", "b"):
        assert row[name] == pytest.approx(getattr(bg, name), rel=1e-6), name
    for name in ("p", "q", "v"):
        assert row[name] == pytest.approx(getattr(gg, name), rel=1e-6), name
    assert row["as_of_date"].date() == SETTINGS["as_of_date"]
    assert (row["time_unit_days"], row["horizon_months"]) == (7.0, 12)
    assert (row["annual_discount_rate"], row["margin"]) == (0.10, 1.0)

    # Scores: one row per distinct (frequency, recency_days, t_days) of either summary, as pandas counts them.
    keys = ["frequency", "recency_days", "t_days"]
    expected_keys = pd.concat([customers[keys], _month_ends(customers)[keys]]).drop_duplicates()
    scores = _read(warehouse, "select * from clv.rfm_scores")
    assert len(scores) == len(expected_keys)
    assert not scores.duplicated(keys).any()
    assert set(map(tuple, scores[keys].to_numpy())) == set(map(tuple, expected_keys.to_numpy()))
    assert scores[["p_alive", "expected_purchases", "discounted_expected_purchases"]].notna().all().all()
    # P(alive) by hand for one repeat row: 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+tx))^(r+x)).
    one = scores[scores["frequency"] > 0].iloc[0]
    x, tx, T = float(one["frequency"]), float(one["recency"]), float(one["t"])
    by_hand = 1 / (1 + bg.a / (bg.b + x - 1) * ((bg.alpha + T) / (bg.alpha + tx)) ** (bg.r + x))
    assert one["p_alive"] == pytest.approx(by_hand, rel=1e-6)
    assert (scores.loc[scores["frequency"] == 0, "p_alive"] == 1.0).all()
    # Discounting at 10%/year over one year lowers the expectation by between 0 and 10%.
    ratio = scores["discounted_expected_purchases"] / scores["expected_purchases"]
    assert ((ratio > 1 / 1.1) & (ratio < 1)).all()

    # History: one row per model, with the counts pandas sees.
    history = _read(warehouse, "select * from clv.fit_history order by model")
    assert list(history["model"]) == ["bgnbd", "gamma_gamma"]
    assert history["converged"].all() and history["fit_id"].nunique() == 1
    unique_rows = len(customers[keys].drop_duplicates())
    assert list(history["customers"]) == [3000, len(repeat)]
    assert list(history["rows"]) == [unique_rows, len(repeat)]
    assert history.loc[0, "log_likelihood"] == pytest.approx(bg.log_likelihood, rel=1e-9)
    assert (
        history.loc[0, ["p", "q", "v"]].isna().all() and history.loc[1, ["r", "alpha", "a", "b"]].isna().all()
    )

    metadata = result.asset_materializations_for_node("clv_fit")
    by_key = {m.asset_key: m.metadata for m in metadata}
    assert by_key[AssetKey(["clv", "parameters"])]["unique_rows"].value == unique_rows
    assert by_key[AssetKey(["clv", "parameters"])]["r"].value == pytest.approx(bg.r, rel=1e-6)
    assert by_key[AssetKey(["clv", "rfm_scores"])]["dagster/row_count"].value == len(expected_keys)

    # Re-running replaces scores and parameters and appends one more fit to the history.
    assert _run(warehouse).success
    assert len(_read(warehouse, "select * from clv.rfm_scores")) == len(expected_keys)
    assert len(_read(warehouse, "select * from clv.parameters")) == 1
    assert len(_read(warehouse, "select * from clv.fit_history")) == 4


def test_a_failed_fit_fails_the_step_keeps_the_last_good_outputs_and_is_recorded(tmp_path):
    customers = _customers(1500, seed=8)
    warehouse = _warehouse(tmp_path, customers)
    assert _run(warehouse).success
    before = _read(warehouse, "select * from clv.parameters")

    nobody_returns = customers.assign(frequency=0, recency=0.0, recency_days=0, monetary_value=np.nan)
    _warehouse(tmp_path, nobody_returns)  # same file: rewrites the intermediate tables only
    result = _run(warehouse)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "no customer has a repeat purchase" in failure.step_failure_data.error.message
    pd.testing.assert_frame_equal(_read(warehouse, "select * from clv.parameters"), before)
    failed = _read(warehouse, "select * from clv.fit_history where not converged order by model")
    assert list(failed["model"]) == ["bgnbd", "gamma_gamma"]
    assert failed["message"].str.len().gt(0).all()


def test_no_customer_with_a_purchase_gives_empty_tables(tmp_path):
    warehouse = _warehouse(tmp_path, _customers(10, seed=1).iloc[0:0])
    assert _run(warehouse).success
    for table in ("rfm_scores", "parameters"):
        assert len(_read(warehouse, f"select * from clv.{table}")) == 0
    columns = _read(warehouse, "select * from clv.rfm_scores").columns
    assert list(columns) == [
        "frequency",
        "recency_days",
        "t_days",
        "recency",
        "t",
        "p_alive",
        "expected_purchases",
        "discounted_expected_purchases",
    ]
    assert len(_read(warehouse, "select * from clv.fit_history")) == 0
