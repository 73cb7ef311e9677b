"""Alerts people can act on: which build failed, in which steps, which checks did not pass, and a link.

One code path for every way a build runs: the sensors (runs started from the UI, the schedule or the landing
sensor) and `python -m orchestration build` (cron, CI: `execute_in_process` evaluates no sensor) both read
the finished run with `alert_for_run` and hand the result to `deliver`. Every alert is appended as one JSON
line to a log file; when a webhook URL is set it is also POSTed there in the body the receiving service
documents (`RW_ALERT_FORMAT`, alert_payloads.py). A webhook that is down never fails the run that raised
the alert: the failed delivery is logged instead, without the URL (a webhook URL usually embeds its token).
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from orchestration.lib.alert_payloads import format_for, payload
from orchestration.settings import Settings

# A run whose alert its starter sends itself (the CLI) carries this tag: the sensors skip it.
ALERTED_BY_TAG = "retention_warehouse/alerted_by"
_MESSAGE_CHARS = 500


@dataclass(frozen=True)
class FailedStep:
    step: str
    error: str


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str
    severity: str  # error | warn
    description: str


@dataclass(frozen=True)
class Alert:
    kind: str  # run_failure | check_failure (a run that succeeded with failed warning checks)
    summary: str  # one sentence a person understands
    job: str
    run_id: str
    run_url: str
    failed_steps: tuple[FailedStep, ...] = ()
    failed_checks: tuple[FailedCheck, ...] = ()
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict:
        return asdict(self)


def _first_line(text: str | None, default: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else default
    return line if len(line) <= _MESSAGE_CHARS else line[: _MESSAGE_CHARS - 1] + "…"


def alert_for_run(instance: DagsterInstance, run_id: str, base_url: str) -> Alert | None:
    """The alert for a finished run: a failed run, or a successful one with checks that did not pass."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return None
    steps = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        data = entry.dagster_event.event_specific_data
        # A raised Failure carries the sentence written for people; any other error its exception message.
        told = data.user_failure_data.description if data.user_failure_data else None
        message = told or _root_cause(data.error)
        steps.append(FailedStep(entry.dagster_event.step_key, _first_line(message, "failed")))
    checks = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if not evaluation.passed:
            checks.append(
                FailedCheck(
                    asset=evaluation.asset_key.to_user_string(),
                    check=evaluation.check_name,
                    severity=evaluation.severity.value.lower(),
                    description=_first_line(evaluation.description, "check did not pass"),
                )
            )
    failed = run.status == DagsterRunStatus.FAILURE
    if not failed and not checks:
        return None
    if failed:
        where = f"in {', '.join(s.step for s in steps)}" if steps else _run_failure_message(instance, run_id)
        summary = f"Run of {run.job_name} failed {where}."
    else:
        summary = f"Run of {run.job_name} succeeded, but {len(checks)} check(s) did not pass."
    if failed and checks:
        summary += f" {len(checks)} check(s) did not pass."
    return Alert(
        kind="run_failure" if failed else "check_failure",
        summary=summary,
        job=run.job_name,
        run_id=run_id,
        run_url=f"{base_url.rstrip('/')}/runs/{run_id}",
        failed_steps=tuple(steps),
        failed_checks=tuple(checks),
    )


def _root_cause(error) -> str | None:
    """The innermost error's message: Dagster wraps what the asset raised in "Error occurred while..."."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message if error is not None else None


def _run_failure_message(instance: DagsterInstance, run_id: str) -> str:
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE):
        return f"before any step: {_first_line(entry.dagster_event.message, 'run failed')}"
    return "before any step"


def send_run_alert(instance: DagsterInstance, run_id: str, settings: Settings) -> Alert | None:
    """The one path from a finished run to people: build its alert (if any) and deliver it."""
    alert = alert_for_run(instance, run_id, settings.dagster_url)
    if alert is not None:
        deliver(alert, settings.alert_log_path(), settings.alert_webhook_url, settings.alert_format)
    return alert


def deliver(
    alert: Alert,
    log_path: Path,
    webhook_url: str | None = None,
    fmt: str | None = None,
    timeout_s: float = 10.0,
) -> bool:
    """Append `alert` to `log_path`, POST it to `webhook_url` if set; returns whether delivery succeeded."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(alert.to_dict(), sort_keys=True) + "\n")
    if not webhook_url:
        return True
    try:
        body = json.dumps(payload(alert, format_for(webhook_url, fmt))).encode()
        request = urllib.request.Request(
            webhook_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, TimeoutError, OSError, ValueError, http.client.HTTPException) as exc:
        # Never echo the URL: a webhook URL often embeds a token. A malformed URL (a stray space, a broken
        # IPv6 host) raises an error that quotes it, so only its kind is logged.
        malformed = isinstance(exc, ValueError | http.client.InvalidURL)
        error = f"{type(exc).__name__}: the webhook URL is malformed" if malformed else str(exc)
        with log_path.open("a", encoding="utf-8") as log:
            log.write(
                json.dumps({"kind": "alert_delivery_failed", "run_id": alert.run_id, "error": error}) + "\n"
            )
        return False
