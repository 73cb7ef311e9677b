"""Every raw load, mart and the serving copy carries a Dagster FreshnessPolicy (asset health in the UI, judged
by the daemon between runs): FAIL once `FRESH_WITHIN` has passed without a materialization, PASS again after
the next one. Staging and intermediate models are internal and carry none."""

from __future__ import annotations

import asyncio
import datetime as dt

from dagster import AssetKey, AssetMaterialization
from dagster._core.definitions.freshness import FreshnessState, TimeWindowFreshnessPolicy
from dagster._core.definitions.freshness_evaluator import TimeWindowFreshnessPolicyEvaluator
from dagster._core.test_utils import freeze_time, instance_for_test

from orchestration.definitions import make_definitions
from orchestration.defs.quality.freshness import FRESHNESS_KEYS
from orchestration.lib.freshness_policy import FRESH_WITHIN
from orchestration.settings import Settings

RAW_ORDERS = AssetKey(["raw", "shop_orders"])
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def _asset_graph(tmp_path):
    settings = Settings(
        landing_dir=tmp_path / "landing",
        duckdb_path=tmp_path / "w.duckdb",
        serving_dir=tmp_path / "out",
        reports_dir=tmp_path / "reports",
    )
    return make_definitions(settings).resolve_asset_graph()


def test_freshness_policies_cover_raw_marts_and_serving(tmp_path) -> None:
    names = {key.to_user_string() for key in FRESHNESS_KEYS}
    assert {"raw/shop_orders", "raw/support_tickets", "fct_orders", "mart_customer_equity"} <= names
    assert "serving/published_marts" in names
    assert not {n for n in names if n.startswith(("stg_", "int_"))}, "staging and intermediate are internal"

    graph = _asset_graph(tmp_path)
    with_policy = {key for key in graph.get_all_asset_keys() if graph.get(key).freshness_policy is not None}
    assert with_policy == set(FRESHNESS_KEYS)
    for key in FRESHNESS_KEYS:
        policy = graph.get(key).freshness_policy
        assert isinstance(policy, TimeWindowFreshnessPolicy)
        assert policy.fail_window.to_timedelta() == FRESH_WITHIN


def test_no_freshness_check_or_sensor_is_left(tmp_path) -> None:
    """The policy replaces Dagster's last-update checks and their sensor; the source freshness check stays."""
    graph = _asset_graph(tmp_path)
    checks = {key.name for key in graph.asset_check_keys}
    assert not {name for name in checks if name.startswith("freshness_check")}
    assert "dbt_source_freshness" in checks


def test_an_asset_not_updated_for_a_day_fails_its_policy(tmp_path) -> None:
    """The evaluator the daemon runs, on the real raw orders node, at frozen times around the window."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget

    evaluator = TimeWindowFreshnessPolicyEvaluator()
    with instance_for_test() as instance:
        target = ModuleTarget(
            module_name="orchestration.definitions",
            attribute="defs",
            working_directory=None,
            location_name="rw",
        )
        with WorkspaceProcessContext(instance, target) as process:

            def state(now: dt.datetime, key: AssetKey = RAW_ORDERS) -> FreshnessState:
                with freeze_time(now):
                    context = process.create_request_context()
                    node = context.asset_graph.get(key)
                    return asyncio.run(evaluator.evaluate_freshness(context, node))

            assert state(START) == FreshnessState.UNKNOWN  # never materialized
            with freeze_time(START):
                instance.report_runless_asset_event(AssetMaterialization(RAW_ORDERS))
            assert state(START + FRESH_WITHIN - dt.timedelta(minutes=5)) == FreshnessState.PASS
            assert state(START + FRESH_WITHIN + dt.timedelta(minutes=5)) == FreshnessState.FAIL
            with freeze_time(START + FRESH_WITHIN + dt.timedelta(minutes=10)):
                instance.report_runless_asset_event(AssetMaterialization(RAW_ORDERS))
            assert state(START + FRESH_WITHIN + dt.timedelta(minutes=15)) == FreshnessState.PASS
