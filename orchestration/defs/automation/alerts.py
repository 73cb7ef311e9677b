"""Sensors that turn failed runs and failed asset checks into alerts (orchestration/lib/alerts.py)."""

from __future__ import annotations

from pathlib import Path

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    run_failure_sensor,
    run_status_sensor,
)

from orchestration.lib.alerts import Alert, send_alert
from orchestration.settings import Settings


def _alert_target(settings: Settings) -> tuple[Path, str | None, str]:
    return settings.alert_log_path(), settings.alert_webhook_url or None, settings.dagster_url.rstrip("/")


def failed_check_alerts(instance: DagsterInstance, run_id: str, base_url: str) -> list[Alert]:
    """One alert per asset check that did not pass in the run, with its severity and description."""
    alerts = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        asset = evaluation.asset_key.to_user_string()
        description = evaluation.description or "check did not pass"
        alerts.append(
            Alert(
                kind="check_failure",
                summary=f"Check {evaluation.check_name} on {asset} failed: {description}",
                run_id=run_id,
                run_url=f"{base_url}/runs/{run_id}",
                asset=asset,
                check=evaluation.check_name,
                severity=evaluation.severity.value.lower(),
            )
        )
    return alerts


@run_failure_sensor(description="Write an alert (log file, optional webhook) for every failed run.")
def alert_on_run_failure(context: RunFailureSensorContext, settings: Settings) -> None:
    log_path, webhook, base_url = _alert_target(settings)
    run_id = context.dagster_run.run_id
    failed_steps = [e.step_key for e in context.get_step_failure_events()]
    message = context.failure_event.message or "run failed"
    where = ", ".join(failed_steps) or "the run"
    send_alert(
        Alert(
            kind="run_failure",
            summary=f"Run of {context.dagster_run.job_name} failed in {where}: {message}",
            run_id=run_id,
            run_url=f"{base_url}/runs/{run_id}",
            asset=", ".join(failed_steps) or None,
        ),
        log_path,
        webhook,
    )
    for alert in failed_check_alerts(context.instance, run_id, base_url):
        send_alert(alert, log_path, webhook)


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    description="Write an alert for checks that failed with warning severity in runs that still succeeded.",
)
def alert_on_failed_checks(context: RunStatusSensorContext, settings: Settings) -> None:
    log_path, webhook, base_url = _alert_target(settings)
    for alert in failed_check_alerts(context.instance, context.dagster_run.run_id, base_url):
        send_alert(alert, log_path, webhook)


alert_sensors = [alert_on_run_failure, alert_on_failed_checks]
