"""Failed runs and failed checks become alerts people receive: a line in the alert log and a POST to a
webhook in the shape the receiving service documents (Slack incoming webhooks: `text` plus Block Kit
`blocks`; Microsoft Teams incoming webhooks / Workflows: a `message` whose attachment is an Adaptive Card;
or the alert's JSON). A loopback HTTP server plays the receiver and checks the shape. The sensors and
`python -m orchestration build` (cron, CI) send the same alert: one code path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

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
from orchestration.lib.alert_payloads import format_for
from orchestration.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_PATH = "/services/T000/B000/tok3n-secret-value"  # the part of a webhook URL that is a credential
SLACK_HOST = "https://hooks.slack.com"  # apart from the path: no committed live-looking webhook


def check_slack(body: dict) -> None:
    """Slack incoming webhook: `text` (the notification fallback) and at most 50 Block Kit blocks."""
    assert isinstance(body["text"], str) and body["text"].strip()
    blocks = body["blocks"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        kind = block["type"]
        assert kind in {"header", "section", "actions", "context", "divider"}, kind
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and 0 < len(block["text"]["text"]) <= 150
        if kind == "section":
            assert block["text"]["type"] in {"mrkdwn", "plain_text"}
            assert 0 < len(block["text"]["text"]) <= 3000
        if kind == "actions":
            for button in block["elements"]:
                assert button["type"] == "button" and button["url"].startswith("http")
                assert button["text"]["type"] == "plain_text" and len(button["text"]["text"]) <= 75
        if kind == "context":
            assert 0 < len(block["elements"]) <= 10


def check_teams(body: dict) -> None:
    """Teams: {"type": "message", "attachments": [{contentType adaptive card, content: AdaptiveCard}]}."""
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["$schema"].endswith("adaptive-card.json")
    assert isinstance(card["version"], str)
    for element in card["body"]:
        assert element["type"] in {"TextBlock", "FactSet"}, element["type"]
        if element["type"] == "TextBlock":
            assert element["text"].strip()
        else:
            assert all(isinstance(f["title"], str) and isinstance(f["value"], str) for f in element["facts"])
    for action in card.get("actions", []):
        assert action["type"] == "Action.OpenUrl" and action["url"].startswith("http")


def check_json(body: dict) -> None:
    assert {"kind", "summary", "job", "run_id", "run_url", "failed_steps", "failed_checks", "text"} <= set(
        body
    )


CHECKS = {"slack": check_slack, "teams": check_teams, "json": check_json}


def text_of(body: dict) -> str:
    """Everything a reader of the message sees, flattened."""
    return json.dumps(body)


class Receiver:
    """A loopback webhook receiver: records each POST's Content-Type and JSON body."""

    def __init__(self, status: int = 200) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers["Content-Length"])
                received.append((self.headers["Content-Type"], json.loads(self.rfile.read(length))))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}{WEBHOOK_PATH}"

    def bodies(self) -> list[dict]:
        assert all(kind == "application/json" for kind, _ in self.received)
        return [body for _, body in self.received]


@pytest.fixture()
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


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


def _settings(tmp_path: Path, url: str, fmt: str = "") -> Settings:
    return Settings(
        alert_log=tmp_path / "alerts.log",
        alert_webhook_url=url,
        alert_format=fmt,
        dagster_url="http://127.0.0.1:3000",
    )


@pytest.mark.parametrize("fmt", ["slack", "teams", "json"])
def test_run_failure_alert_in_each_format(fmt: str, receiver: Receiver, tmp_path: Path):
    settings = _settings(tmp_path, receiver.url, fmt)
    instance, result = _run([broken_orders])
    assert not result.success
    context = build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    alert_on_run_failure(context, settings=settings)

    (body,) = receiver.bodies()
    CHECKS[fmt](body)
    seen = text_of(body)
    assert "broken_orders" in seen and "orders_2024-03.jsonl could not be read" in seen
    assert f"http://127.0.0.1:3000/runs/{result.run_id}" in seen
    (logged,) = [json.loads(line) for line in (tmp_path / "alerts.log").read_text().splitlines()]
    assert logged["kind"] == "run_failure" and logged["failed_steps"][0]["step"] == "broken_orders"


@pytest.mark.parametrize("fmt", ["slack", "teams", "json"])
def test_failed_warning_check_in_a_successful_run_in_each_format(
    fmt: str, receiver: Receiver, tmp_path: Path
):
    settings = _settings(tmp_path, receiver.url, fmt)
    instance, result = _run([orders_with_negative_totals], [totals_not_negative])
    assert result.success
    context = build_run_status_sensor_context(
        sensor_name="alert_on_failed_checks",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
    )
    alert_on_failed_checks(context, settings=settings)

    (body,) = receiver.bodies()
    CHECKS[fmt](body)
    seen = text_of(body)
    assert "totals_not_negative" in seen and "3 orders have a negative total" in seen
    (logged,) = [json.loads(line) for line in (tmp_path / "alerts.log").read_text().splitlines()]
    assert logged["kind"] == "check_failure"
    assert logged["failed_checks"] == [
        {
            "asset": "orders_with_negative_totals",
            "check": "totals_not_negative",
            "severity": "warn",
            "description": "3 orders have a negative total",
        }
    ]


def test_a_successful_run_with_passing_checks_sends_nothing(receiver: Receiver, tmp_path: Path):
    instance, result = _run([orders_with_negative_totals])
    context = build_run_status_sensor_context(
        sensor_name="alert_on_failed_checks",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
    )
    alert_on_failed_checks(context, settings=_settings(tmp_path, receiver.url))
    assert receiver.received == [] and not (tmp_path / "alerts.log").exists()


def test_the_format_follows_the_webhook_host_unless_set():
    assert format_for(SLACK_HOST + "/services/T/B/x", "") == "slack"
    assert format_for("https://acme.webhook.office.com/webhookb2/x", "") == "teams"
    assert format_for("https://prod-1.westeurope.logic.azure.com/workflows/x", "") == "teams"
    assert format_for("https://alerts.example.org/hook", "") == "json"
    assert format_for(SLACK_HOST + "/services/T/B/x", "json") == "json"


def test_unreachable_webhook_is_logged_not_raised(tmp_path: Path):
    settings = _settings(tmp_path, "http://127.0.0.1:9" + WEBHOOK_PATH, "slack")
    instance, result = _run([orders_with_negative_totals], [totals_not_negative])
    context = build_run_status_sensor_context(
        sensor_name="alert_on_failed_checks",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
    )
    alert_on_failed_checks(context, settings=settings)
    text = (tmp_path / "alerts.log").read_text()
    assert [json.loads(line)["kind"] for line in text.splitlines()] == [
        "check_failure",
        "alert_delivery_failed",
    ]
    assert "tok3n" not in text  # the webhook URL (often a secret) is never logged


def test_a_run_the_cli_alerted_for_is_not_alerted_again_by_the_sensor(receiver: Receiver, tmp_path: Path):
    from orchestration.lib.alerts import ALERTED_BY_TAG

    instance = DagsterInstance.ephemeral()
    defs = Definitions(assets=[broken_orders], jobs=[define_asset_job("j")])
    result = defs.resolve_job_def("j").execute_in_process(
        instance=instance, raise_on_error=False, tags={ALERTED_BY_TAG: "cli"}
    )
    context = build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    alert_on_run_failure(context, settings=_settings(tmp_path, receiver.url, "slack"))
    assert receiver.received == []


@pytest.mark.slow
def test_a_failed_cli_build_posts_a_slack_alert(receiver: Receiver, tmp_path: Path):
    """`python -m orchestration build` as cron runs it, on a landing directory whose orders file is not
    gzip: the raw load fails, the command exits 1 and Slack gets the alert naming the step and the file."""
    landing = tmp_path / "landing" / "orders" / "orders"
    landing.mkdir(parents=True)
    (landing / "orders_2024-01.jsonl.gz").write_bytes(b"this is not gzip")
    env = {
        **os.environ,
        "RW_DATA_DIR": str(tmp_path / "data"),
        "RW_ALERT_LOG": str(tmp_path / "alerts.log"),
        "RW_ALERT_WEBHOOK_URL": receiver.url,
        "RW_ALERT_FORMAT": "slack",
        "RW_DAGSTER_URL": "http://dagster.internal:3000",
    }
    for name in ("DAGSTER_HOME", "RW_DUCKDB_PATH", "RW_SERVING_DIR", "RW_REPORTS_DIR", "RW_LANDING_DIR"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "orchestration", "build", "--landing", str(tmp_path / "landing")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 1, done.stderr[-3000:]

    (body,) = receiver.bodies()
    check_slack(body)
    seen = text_of(body)
    assert "raw__shop_orders_and_shop_order_lines" in seen and "orders_2024-01.jsonl.gz" in seen
    assert "http://dagster.internal:3000/runs/" in seen
    (logged,) = [json.loads(line) for line in (tmp_path / "alerts.log").read_text().splitlines()]
    assert logged["kind"] == "run_failure" and logged["run_id"] in body["text"]
    for output in (done.stdout, done.stderr, (tmp_path / "alerts.log").read_text()):
        assert "tok3n" not in output
