"""Failed runs and failed checks become alerts in a log file and on a webhook (a local HTTP server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterInstance,
    Definitions,
    asset,
    asset_check,
    build_run_status_sensor_context,
    define_asset_job,
)

from orchestration.defs.automation.alerts import alert_on_failed_checks, alert_on_run_failure
from orchestration.settings import Settings


@pytest.fixture()
def webhook(tmp_path):
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    log = tmp_path / "alerts.log"
    settings = Settings(
        alert_log=log,
        alert_webhook_url=f"http://127.0.0.1:{server.server_port}/hook",
        dagster_url="http://127.0.0.1:3000",
    )
    yield received, log, settings
    server.shutdown()


@asset
def broken_orders():
    raise RuntimeError("orders_2024-03.jsonl could not be read")


@asset
def orders_with_negative_totals():
    return 1


@asset_check(asset=orders_with_negative_totals, description="totals are never negative")
def totals_not_negative():
    return AssetCheckResult(
        passed=False, severity=AssetCheckSeverity.WARN, description="3 orders have a negative total"
    )


def _run(assets, checks=()):
    instance = DagsterInstance.ephemeral()
    defs = Definitions(assets=assets, asset_checks=list(checks), jobs=[define_asset_job("j")])
    result = defs.resolve_job_def("j").execute_in_process(instance=instance, raise_on_error=False)
    return instance, result


def test_run_failure_alert_names_the_asset_and_links_the_run(webhook):
    received, log, settings = webhook
    instance, result = _run([broken_orders])
    assert not result.success
    context = build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    alert_on_run_failure(context, settings=settings)

    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 1 and lines == received
    alert = lines[0]
    assert alert["kind"] == "run_failure"
    assert "broken_orders" in alert["summary"]
    assert alert["run_url"] == f"http://127.0.0.1:3000/runs/{result.run_id}"


def test_failed_warning_check_in_a_successful_run_is_alerted(webhook):
    received, log, settings = webhook
    instance, result = _run([orders_with_negative_totals], [totals_not_negative])
    assert result.success
    context = build_run_status_sensor_context(
        sensor_name="alert_on_failed_checks",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
    )
    alert_on_failed_checks(context, settings=settings)

    assert len(received) == 1
    alert = received[0]
    assert alert["kind"] == "check_failure"
    assert alert["asset"] == "orders_with_negative_totals"
    assert alert["check"] == "totals_not_negative"
    assert alert["severity"] == "warn"
    assert "3 orders have a negative total" in alert["summary"]
    assert json.loads(log.read_text().splitlines()[0]) == alert


def test_unreachable_webhook_is_logged_not_raised(tmp_path):
    log = tmp_path / "alerts.log"
    settings = Settings(alert_log=log, alert_webhook_url="http://127.0.0.1:9/unreachable")
    instance, result = _run([orders_with_negative_totals], [totals_not_negative])
    context = build_run_status_sensor_context(
        sensor_name="alert_on_failed_checks",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
    )
    alert_on_failed_checks(context, settings=settings)
    kinds = [json.loads(line)["kind"] for line in log.read_text().splitlines()]
    assert kinds == ["check_failure", "alert_delivery_failed"]
    assert "unreachable" not in log.read_text()  # the webhook URL (often a secret) is never logged
