"""The semantic layer answers the retention KPIs from the marts: each metric, queried through MetricFlow the
way the README shows (`mf query` in dbt_project/), equals the number computed here with SQL on the mart it
summarises (or on another mart that holds the same figure)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.settings import DBT_PROJECT_DIR, Settings

MF = Path(sys.executable).parent / "mf"
SEMANTIC_MANIFEST = DBT_PROJECT_DIR / "target" / "semantic_manifest.json"


@pytest.fixture(scope="module")
def warehouse(built_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample warehouse: MetricFlow opens it through dbt-duckdb, which takes the write lock."""
    copy = tmp_path_factory.mktemp("semantic") / "warehouse.duckdb"
    shutil.copyfile(built_warehouse.duckdb_path, copy)
    return copy


def mf_query(warehouse: Path, tmp_path: Path, metrics: list[str], group_by: list[str] = ()) -> pd.DataFrame:
    assert SEMANTIC_MANIFEST.exists(), "run `make install` (dbt parse writes the semantic manifest)"
    out = tmp_path / f"{'_'.join(metrics)}.csv"
    command = [str(MF), "query", "--metrics", ",".join(metrics), "--csv", str(out), "--quiet"]
    if group_by:
        command += ["--group-by", ",".join(group_by)]
    done = subprocess.run(
        command,
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "RW_DUCKDB_PATH": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return pd.read_csv(out)


def sql(warehouse: Path, query: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(query).df()
    for column in ("month", "cohort_month"):  # dates as timestamps, like MetricFlow's time dimensions
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    return frame


def assert_same(metric: pd.Series, expected: pd.Series) -> None:
    both = pd.concat([metric.rename("metric"), expected.rename("expected")], axis=1)
    assert len(both) == len(expected) == len(metric), both[both.isna().any(axis=1)]
    np.testing.assert_allclose(
        both["metric"].astype(float), both["expected"].astype(float), rtol=1e-9, atol=1e-9
    )


def test_monthly_kpis_equal_the_marts(warehouse: Path, tmp_path: Path) -> None:
    metrics = ["active_customers", "net_revenue", "churn_share", "customer_equity", "roc", "csat"]
    got = mf_query(warehouse, tmp_path, metrics, ["metric_time__month"])
    got = got.set_index(pd.to_datetime(got["metric_time__month"]))

    orders = sql(
        warehouse,
        "select order_month as month, count(distinct case when is_completed then customer_id end) as active,"
        " sum(net_revenue) as revenue from marts.fct_orders group by order_month",
    ).set_index("month")
    assert_same(got["active_customers"].dropna(), orders["active"][orders["active"] > 0])
    assert_same(got["net_revenue"].dropna(), orders["revenue"])

    churn = sql(
        warehouse,
        "select month_start as month,"
        " avg(case when lifecycle_stage = 'churned' then 1e0 else 0e0 end) as share"
        " from marts.fct_customer_months where lifecycle_stage <> 'prospect' group by month_start",
    ).set_index("month")
    assert_same(got["churn_share"].dropna(), churn["share"])
    # In the as_of_date month the share is the one mart_relationship_health_summary reports over all bands.
    summary = sql(
        warehouse,
        "select sum(churned_customers) * 1e0 / sum(customers) from marts.mart_relationship_health_summary",
    ).iloc[0, 0]
    assert got["churn_share"].dropna().sort_index().iloc[-1] == pytest.approx(summary, rel=1e-12)

    equity = sql(
        warehouse,
        "select month_start as month, customer_equity, roc from marts.mart_customer_equity"
        " where acquisition_channel = 'all'",
    ).set_index("month")
    assert_same(got["customer_equity"].dropna(), equity["customer_equity"])
    assert_same(got["roc"].dropna(), equity["roc"].dropna())

    csat = sql(
        warehouse,
        "select date_trunc('month', created_date) as month,"
        " avg(case when csat_rating = 'good' then 1e0 else 0e0 end) as csat"
        " from marts.fct_tickets where csat_rating is not null group by 1",
    ).set_index("month")
    assert_same(got["csat"].dropna(), csat["csat"])


def test_cohort_curves_equal_the_retention_mart(warehouse: Path, tmp_path: Path) -> None:
    got = mf_query(
        warehouse,
        tmp_path,
        ["retention_rate", "revenue_retention"],
        ["cohort__cohort_month__month", "cohort__month_offset"],
    )
    got["cohort_month"] = pd.to_datetime(got["cohort__cohort_month__month"])
    got = got.set_index(["cohort_month", "cohort__month_offset"])
    mart = sql(
        warehouse,
        "select cohort_month, month_offset, retention_rate, revenue_retention"
        " from marts.mart_retention_cohorts"
        " where acquisition_channel = 'all'",
    ).set_index(["cohort_month", "month_offset"])
    assert len(mart) > 100
    assert_same(got["retention_rate"], mart["retention_rate"])
    assert_same(got["revenue_retention"].dropna(), mart["revenue_retention"].dropna())


def test_customer_kpis_equal_the_marts(warehouse: Path, tmp_path: Path) -> None:
    got = mf_query(warehouse, tmp_path, ["clv", "nps", "csat"]).iloc[0]
    expected = sql(
        warehouse,
        "select (select avg(clv) from marts.mart_customer_value) as clv,"
        " (select 100e0 * (count(*) filter (where latest_nps >= 9) - count(*) filter (where latest_nps <= 6))"
        "   / count(latest_nps) from marts.dim_customers) as nps,"
        " (select avg(case when csat_rating = 'good' then 1e0 else 0e0 end) from marts.fct_tickets"
        "   where csat_rating is not null) as csat",
    ).iloc[0]
    for kpi in ("clv", "nps", "csat"):
        assert got[kpi] == pytest.approx(expected[kpi], rel=1e-9), kpi
