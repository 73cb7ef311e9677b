"""Automation is on by default: the daily and weekly schedules, the landing sensor and the alert sensors start
running on a fresh DAGSTER_HOME, and `RW_AUTOMATION=off` (a second environment, a laptop) starts them all
stopped. Read from the definitions, and as the webserver's GraphQL API reports them on a fresh instance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AUTOMATIONS = {
    "daily_build",
    "weekly_full_checks",
    "new_landing_files",
    "alert_on_run_failure",
    "alert_on_failed_checks",
}
STATUSES = """
import json
import time
from orchestration.definitions import defs
repo = defs.get_repository_def()
print(json.dumps({
    **{s.name: s.default_status.value for s in repo.schedule_defs},
    **{s.name: s.default_status.value for s in repo.sensor_defs},
}))
"""


def _default_statuses(**env: str) -> dict[str, str]:
    """Each schedule's and sensor's default status, from the definitions loaded in a fresh interpreter (the
    switch is read when they load, as the webserver and daemon do)."""
    done = subprocess.run(
        [sys.executable, "-c", STATUSES],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_schedule_and_sensor_starts_running_by_default() -> None:
    statuses = _default_statuses()
    assert set(statuses) == AUTOMATIONS
    assert statuses == dict.fromkeys(AUTOMATIONS, "RUNNING")


def test_one_switch_starts_them_all_stopped() -> None:
    assert _default_statuses(RW_AUTOMATION="off") == dict.fromkeys(AUTOMATIONS, "STOPPED")


def test_an_unknown_switch_value_is_an_error() -> None:
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _default_statuses(RW_AUTOMATION="maybe")
    assert "RW_AUTOMATION" in failed.value.stderr


INSTIGATORS = """
query($selector: RepositorySelector!) { repositoryOrError(repositorySelector: $selector) {
  __typename ... on Repository {
    schedules { name scheduleState { status } }
    sensors { name sensorState { status } } } } }"""


@pytest.mark.slow
def test_the_webserver_shows_every_automation_running_on_a_fresh_instance(tmp_path: Path) -> None:
    """What `make dev` shows on a fresh clone: the Automation page lists all five as running."""
    from serving_screenshot import ARTIFACTS, CHROMIUM, chromium_screenshot
    from test_daily_webserver import LOCATIONS, _free_port, _graphql

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "RW_DATA_DIR": str(tmp_path / "data")}
    env.pop("RW_AUTOMATION", None)
    port = _free_port()
    webserver = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-m", "orchestration.definitions"]
        + ["-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                nodes = _graphql(port, LOCATIONS, {})["repositoriesOrError"]["nodes"]
                break
            except OSError:
                assert time.monotonic() < deadline and webserver.poll() is None, "webserver did not start"
                time.sleep(1)
        selector = {
            "repositoryLocationName": nodes[0]["location"]["name"],
            "repositoryName": "__repository__",
        }
        repo = _graphql(port, INSTIGATORS, {"selector": selector})["repositoryOrError"]
        states = {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
        states |= {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
        assert states == dict.fromkeys(AUTOMATIONS, "RUNNING")
        if CHROMIUM:
            _graphql(port, "mutation { setNuxSeen }", {})
            shot = chromium_screenshot(
                f"http://127.0.0.1:{port}/automation", ARTIFACTS / "automation_running.png", 1600, 900,
                "--virtual-time-budget=15000",
            )  # fmt: skip
            assert shot.stat().st_size > 10_000
    finally:
        webserver.terminate()
        webserver.wait(timeout=30)
