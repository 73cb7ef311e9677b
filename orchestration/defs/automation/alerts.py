"""Sensors that send the alert of every finished run that failed or left a check failing
(orchestration/lib/alerts.py). Runs the CLI started carry ALERTED_BY_TAG: the CLI sent their alert itself."""

from __future__ import annotations

from dagster import (
    DagsterRunStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    run_failure_sensor,
    run_status_sensor,
)

from orchestration.defs.automation.status import SENSOR_STATUS
from orchestration.lib.alerts import ALERTED_BY_TAG, send_run_alert
from orchestration.settings import Settings


@run_failure_sensor(
    default_status=SENSOR_STATUS,
    description="Alert (log file, optional Slack/Teams/JSON webhook) for every failed run: steps and checks.",
)
def alert_on_run_failure(context: RunFailureSensorContext, settings: Settings) -> None:
    if ALERTED_BY_TAG not in context.dagster_run.tags:
        send_run_alert(context.instance, context.dagster_run.run_id, settings)


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    default_status=SENSOR_STATUS,
    description="Alert for checks that failed with warning severity in runs that still succeeded.",
)
def alert_on_failed_checks(context: RunStatusSensorContext, settings: Settings) -> None:
    if ALERTED_BY_TAG not in context.dagster_run.tags:
        send_run_alert(context.instance, context.dagster_run.run_id, settings)
