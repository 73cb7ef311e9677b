"""The daily operation as a user sees it: the Dagster webserver on loopback, the daily job launched through
its GraphQL API, then a new day of landing files picked up by the landing sensor (evaluated by the webserver's
own code location, `sensorDryRun`) whose run loads only that day. A screenshot of the asset graph is kept
under tests/artifacts/."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import duckdb
import pytest
from serving_screenshot import ARTIFACTS, CHROMIUM, chromium_screenshot

ROOT = Path(__file__).resolve().parents[1]
# The last two days arrive together after the first build: one run backfills the range.
NEW_DAYS = (date(2024, 2, 19), date(2024, 2, 20))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body["errors"]
    return body["data"]


LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
FAILURES = """
query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events { __typename
  ... on ExecutionStepFailureEvent { stepKey error { message } }
  ... on RunFailureEvent { message } } } } }"""
DRY_RUN = """
mutation($selector: SensorSelector!, $cursor: String) {
 sensorDryRun(selectorData: $selector, cursor: $cursor) {
  __typename ... on DryRunInstigationTick { evaluationResult { cursor skipReason error { message }
    runRequests { runKey tags { key value } } } } ... on PythonError { message } } }"""
LOCATIONS = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"


def _launch(port: int, location: str, tags: list[dict]) -> str:
    params = {
        "selector": {
            "repositoryLocationName": location,
            "repositoryName": "__repository__",
            "jobName": "build_warehouse",
        },
        "runConfigData": {},
        "executionMetadata": {"tags": tags},
    }
    launched = _graphql(port, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _wait(port: int, run_id: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _graphql(port, STATUS, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            if status != "SUCCESS":
                events = _graphql(port, FAILURES, {"id": run_id})["logsForRun"]["events"]
                print("\n".join(json.dumps(e)[:3000] for e in events if len(e) > 1))
            return status
        time.sleep(2)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


def _dry_run(port: int, location: str, cursor: str | None) -> dict:
    selector = {
        "repositoryLocationName": location,
        "repositoryName": "__repository__",
        "sensorName": "new_landing_files",
    }
    tick = _graphql(port, DRY_RUN, {"selector": selector, "cursor": cursor})["sensorDryRun"]
    assert tick["__typename"] == "DryRunInstigationTick", tick
    result = tick["evaluationResult"]
    assert result["error"] is None, result["error"]
    return result


def _copy_days(source: Path, target: Path, keep) -> list[str]:
    copied = []
    for path in sorted(source.rglob("*.*")):
        if path.is_file() and keep(date.fromisoformat(path.name.split("_")[-1].split(".")[0])):
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            copied.append(str(path.relative_to(source)))
    return copied


@pytest.mark.slow
def _dbt_ran(run_id: str, resource_type: str) -> int:
    """How many dbt nodes of `resource_type` the run's dbt steps executed (their run_results.json, in the
    per-invocation target directories dagster-dbt names <step>-<run id[:7]>-...)."""
    target = ROOT / "dbt_project" / "target"
    results = [
        r
        for step in ("dbt_before_clv", "dbt_after_clv")
        for path in target.glob(f"{step}-{run_id[:7]}-*/run_results.json")
        for r in json.loads(path.read_text())["results"]
    ]
    assert results, f"no dbt run_results for run {run_id}"
    return sum(1 for r in results if r["unique_id"].split(".")[0] == resource_type)


def test_daily_job_and_landing_sensor_through_the_webserver(tmp_path: Path) -> None:
    from seeds.config import GeneratorConfig
    from seeds.generate import generate

    # History as monthly exports (June 2023 to January 2024), then February one file per family per day: the
    # generator partitions the same records by export time whatever the period. Enough history to fit CLV.
    def generated(period: str) -> Path:
        config = GeneratorConfig(
            customers=400,
            seed=3,
            start=date(2023, 6, 1),
            end=NEW_DAYS[-1],
            out=tmp_path / period,
            period=period,
            compress=False,
        )
        return generate(config) / "landing"

    monthly, daily = generated("month"), generated("day")
    landing = tmp_path / "landing"
    for path in monthly.rglob("*.*"):
        if path.is_file() and not path.name.endswith("_2024-02" + path.suffix):
            destination = landing / path.relative_to(monthly)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
    _copy_days(daily, landing, lambda day: date(2024, 2, 1) <= day < NEW_DAYS[0])

    home = tmp_path / "dagster_home"
    home.mkdir()
    # Runs start at once in a subprocess of the webserver (no daemon queue needed for launchRun).
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
        "telemetry:\n  enabled: false\n"
    )
    database = tmp_path / "warehouse.duckdb"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "RW_LANDING_DIR": str(landing),
        "RW_DUCKDB_PATH": str(database),
        "RW_SERVING_DIR": str(tmp_path / "serving"),
        "RW_REPORTS_DIR": str(tmp_path / "reports"),
        # All loads of this test fall within minutes: without a lookback the second run's rewrite is only the
        # new day's customers and the as_of month, which is what the assertions below look for.
        "RW_INCREMENTAL_LOOKBACK_HOURS": "0",
    }
    port = _free_port()
    webserver = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-m", "orchestration.definitions"]
        + ["-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                nodes = _graphql(port, LOCATIONS, {})["repositoriesOrError"]["nodes"]
                break
            except OSError:
                assert time.monotonic() < deadline and webserver.poll() is None, "webserver did not start"
                time.sleep(1)
        location = nodes[0]["location"]["name"]

        first = _launch(port, location, [])
        assert _wait(port, first) == "SUCCESS"
        con = duckdb.connect(str(database), read_only=True)
        try:
            first_loaded_until = con.execute("select max(loaded_at) from raw._load_ledger").fetchone()[0]
        finally:
            con.close()

        # The sensor's first tick records what is there; a new day of files then asks for exactly one run.
        seen = _dry_run(port, location, None)
        assert _dry_run(port, location, seen["cursor"])["skipReason"], "no new files: the sensor must skip"
        new_files = _copy_days(daily, landing, lambda day: day in NEW_DAYS)
        assert new_files, "the generator wrote no file for the new days"
        tick = _dry_run(port, location, seen["cursor"])
        (request,) = tick["runRequests"]
        tags = {t["key"]: t["value"] for t in request["tags"]}
        assert tags["landing/new_files"] == str(len(new_files))
        assert tags["landing/periods"] == "2024-02-19..2024-02-20"

        second = _launch(port, location, [{"key": k, "value": v} for k, v in tags.items()])
        assert _wait(port, second) == "SUCCESS"

        con = duckdb.connect(str(database), read_only=True)
        try:
            loaded_second = {
                f
                for (f,) in con.execute(
                    "select distinct file from raw._load_ledger where loaded_at > ?", [first_loaded_until]
                ).fetchall()
            }
            kept = con.execute(
                "select count(*) from marts.fct_customer_months "
                "where _processed_through < (select max(_processed_through) from marts.fct_customer_months)"
            ).fetchone()[0]
        finally:
            con.close()
        assert loaded_second == set(new_files), (
            f"the second run must load exactly the new days: {loaded_second}"
        )
        assert kept > 0, "the second run rewrote every customer month: it was not incremental"
        # dbt's unit tests judge the SQL, not the data: the first build ran them, the daily run on the same
        # code (the serving build's) did not; its data tests still ran.
        assert _dbt_ran(first, "unit_test") > 0 and _dbt_ran(first, "test") > 0
        assert _dbt_ran(second, "unit_test") == 0 and _dbt_ran(second, "test") > 0

        # The community sign-up pop-up would cover the graph: mark it seen, as a user clicking it away.
        _graphql(port, "mutation { setNuxSeen }", {})
        if CHROMIUM:
            page = f"http://127.0.0.1:{port}/asset-groups"
            budget = "--virtual-time-budget=15000"  # let the graph lay out before the shot
            shot = chromium_screenshot(page, ARTIFACTS / "asset_graph.png", 1600, 1000, budget)
            assert shot.stat().st_size > 10_000
    finally:
        webserver.terminate()
        webserver.wait(timeout=30)
