"""The benchmark harness end to end on a tiny generated scale: every stage timed, every baseline measured.

Not a performance test (bench/RESULTS.md holds the numbers); it checks that `make bench` keeps working as
the pipeline changes: the Dagster event log still yields a time for each stage, the floor still runs the
compiled SQL, and the pandas baseline still agrees with the marts it imitates.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

# bench/ is a tool beside the packages, not an installed package (pyproject installs orchestration, seeds)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.data import Scale  # noqa: E402
from bench.pipeline import STAGES  # noqa: E402
from bench.run import run_scale  # noqa: E402


@pytest.mark.slow
def test_harness_measures_every_stage(tmp_path: Path):
    scale = Scale("smoke", customers=300, start=date(2025, 7, 1), end=date(2025, 12, 31))
    result = run_scale(scale, ("pipeline", "floor", "clv", "pandas"), out_dir=tmp_path, results_dir=None)

    pipeline = result["pipeline"]
    assert pipeline["success"], pipeline.get("failed_steps")
    for stage in STAGES:
        assert pipeline["stages"][stage]["seconds"] > 0, stage
    # stages partition the steps: together they are the steps' time, which fits inside the run
    steps = sum(s["seconds"] for s in pipeline["steps"].values())
    assert sum(pipeline["stages"][s]["seconds"] for s in STAGES) == pytest.approx(steps, abs=0.01)
    assert steps <= pipeline["run_seconds"] + 0.01
    assert pipeline["peak_rss_bytes"]["tree_sampled"] > 0
    assert pipeline["asset_check_evaluations"] > 0 and not pipeline["failed_checks"]

    floor = result["floor"]
    assert floor["models"] >= 30 and floor["tests"] > 0
    assert floor["tests_with_failing_rows"] == 0  # the same data passes the same tests without dbt
    for part in ("load_seconds", "before_clv_seconds", "clv_seconds", "after_clv_seconds", "tests_seconds"):
        assert floor[part] > 0, part

    clv = result["clv_fit"]
    assert clv["unique_rows"] < clv["customers"]
    assert clv["max_relative_parameter_difference"] < 1e-3  # same likelihood, weighted or not

    check = result["pandas"]["check"]
    assert check["cohorts_match_marts"] and check["flows_match_marts"], check["differences"]

    summary = result["summary"]
    assert summary["pipeline_seconds"] > 0 and summary["transform_ratio_to_floor"] > 0
    assert (tmp_path / "smoke" / "result.json").exists()
