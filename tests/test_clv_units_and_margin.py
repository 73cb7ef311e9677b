"""CLV does not depend on the reporting unit of time, and ROC not on the margin (issue 13, points 3 and 4).

The CLV models and marts of a copy of the sample warehouse are rebuilt with `clv_time_unit_days` 3.5 (half
weeks, not an integer: it must never be cast to one) and `clv_margin` 0.5, and compared with the default
build. Worked out by hand: measured in half weeks every time doubles, so the BG/NBD rate scale alpha doubles
and r, a, b stay; the horizon is in months, so every CLV is the same before the margin and half of it after.
Cash flow and equity are both after the margin, so both halve and ROC does not move.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.lib.clv.fit_in_warehouse import fit_and_score
from orchestration.settings import DBT_PROJECT_DIR, Settings

VARS = {"clv_time_unit_days": 3.5, "clv_margin": 0.5}


def dbt_run(duckdb_path: Path, target: Path, select: str) -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "run",
            "--select",
            select,
            "--vars",
            json.dumps(VARS),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
        ],
        env={**os.environ, "RW_DUCKDB_PATH": str(duckdb_path)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:]


@pytest.fixture(scope="module")
def rebuilt(built_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clv_units")
    path = root / "warehouse.duckdb"
    shutil.copyfile(built_warehouse.duckdb_path, path)
    dbt_run(path, root / "target", "int_clv__settings int_clv__customer_summary int_clv__month_end_summary")
    with duckdb.connect(str(path)) as con:
        fit_and_score(con)
    dbt_run(path, root / "target", "tag:clv_scored")
    return path


def read(path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).df()


def test_times_are_in_half_weeks_to_the_day(rebuilt):
    summary = read(
        rebuilt, "select recency_days, t_days, recency, t from intermediate.int_clv__customer_summary"
    )
    np.testing.assert_allclose(summary["t"], summary["t_days"] / 3.5, rtol=1e-15)
    np.testing.assert_allclose(summary["recency"], summary["recency_days"] / 3.5, rtol=1e-15)
    settings = read(rebuilt, "select time_unit_days from intermediate.int_clv__settings")
    assert settings["time_unit_days"].tolist() == [3.5]


def test_the_fit_only_rescales_alpha(built_warehouse, rebuilt):
    default = read(built_warehouse.duckdb_path, "select * from clv.parameters").iloc[0]
    halves = read(rebuilt, "select * from clv.parameters").iloc[0]
    assert halves["time_unit_days"] == 3.5 and halves["margin"] == 0.5
    assert halves["alpha"] == pytest.approx(2 * default["alpha"], rel=1e-5)
    for name in ("r", "a", "b", "p", "q", "v"):
        assert halves[name] == pytest.approx(default[name], rel=1e-5), name


def test_clv_is_the_same_in_any_unit_and_scales_with_the_margin(built_warehouse, rebuilt):
    sql = "select customer_id, clv, p_alive from marts.mart_customer_value order by customer_id"
    default, halves = read(built_warehouse.duckdb_path, sql), read(rebuilt, sql)
    assert default["customer_id"].tolist() == halves["customer_id"].tolist()
    np.testing.assert_allclose(halves["clv"], 0.5 * default["clv"], rtol=1e-5)
    np.testing.assert_allclose(halves["p_alive"], default["p_alive"], rtol=1e-5)


def test_cash_flow_and_equity_are_in_the_same_units(built_warehouse, rebuilt):
    sql = "select * from marts.mart_customer_equity order by month_end, acquisition_channel"
    default, halves = read(built_warehouse.duckdb_path, sql), read(rebuilt, sql)
    assert default[["month_end", "acquisition_channel"]].equals(halves[["month_end", "acquisition_channel"]])
    money = [
        "customer_equity",
        "cash_flow",
        "equity_start",
        "retained_cash_flow",
        "retained_equity_end",
        "acquisition_cash_flow",
        "acquisition_equity",
        "acquisition_contribution",
    ]
    for column in money:
        np.testing.assert_allclose(
            halves[column], 0.5 * default[column], rtol=1e-5, atol=1e-9, err_msg=column
        )
    assert default["roc"].notna().sum() > 12
    np.testing.assert_allclose(halves["roc"], default["roc"], rtol=1e-5, atol=1e-12)
