"""Freshness checks turn an asset red once it has gone `FRESH_WITHIN` without an update, and back to green
after the next materialization; they cover every raw load, every mart and the serving copy."""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    DagsterInstance,
    Definitions,
    define_asset_job,
)
from dagster._core.test_utils import freeze_time

from orchestration.definitions import make_definitions
from orchestration.defs.quality.freshness import FRESH_WITHIN, FRESHNESS_KEYS, asset_freshness_checks
from orchestration.settings import Settings

RAW_ORDERS = AssetKey(["raw", "shop_orders"])
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def test_freshness_checks_cover_raw_marts_and_serving() -> None:
    names = {key.to_user_string() for key in FRESHNESS_KEYS}
    assert {"raw/shop_orders", "raw/support_tickets", "fct_orders", "mart_customer_equity"} <= names
    assert "serving/published_marts" in names
    assert not {n for n in names if n.startswith(("stg_", "int_"))}, "staging and intermediate are internal"


def _evaluate(tmp_path, instance: DagsterInstance, now: dt.datetime) -> dict[str, bool]:
    settings = Settings(
        landing_dir=tmp_path / "landing",
        duckdb_path=tmp_path / "w.duckdb",
        serving_dir=tmp_path / "out",
        reports_dir=tmp_path / "reports",
    )
    job = define_asset_job("freshness_only", selection=AssetSelection.checks(*asset_freshness_checks))
    defs = Definitions.merge(make_definitions(settings), Definitions(jobs=[job]))
    with freeze_time(now):
        result = defs.resolve_job_def("freshness_only").execute_in_process(instance=instance)
    return {
        e.asset_check_key.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()
    }


def test_an_asset_not_updated_for_a_day_turns_red(tmp_path) -> None:
    with DagsterInstance.ephemeral() as instance:
        with freeze_time(START):
            instance.report_runless_asset_event(AssetMaterialization(RAW_ORDERS))

        fresh = _evaluate(tmp_path, instance, START + FRESH_WITHIN - dt.timedelta(minutes=5))
        assert fresh["raw/shop_orders"] is True
        assert fresh["fct_orders"] is False, "never materialized: not fresh"

        stale = _evaluate(tmp_path, instance, START + FRESH_WITHIN + dt.timedelta(minutes=5))
        assert stale["raw/shop_orders"] is False

        with freeze_time(START + FRESH_WITHIN + dt.timedelta(minutes=10)):
            instance.report_runless_asset_event(AssetMaterialization(RAW_ORDERS))
        again = _evaluate(tmp_path, instance, START + FRESH_WITHIN + dt.timedelta(minutes=15))
        assert again["raw/shop_orders"] is True
