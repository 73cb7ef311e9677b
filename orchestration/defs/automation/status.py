"""Whether the schedule and the sensors start running: on by default (`RW_AUTOMATION=on`).

A team that deploys the warehouse gets the daily build, builds on new landing files and alerts without
finding four toggles in the UI. `RW_AUTOMATION=off` starts them all stopped, for a second environment on
the same landing files or a laptop. This is only the default: a toggle in the UI is stored in DAGSTER_HOME
and wins over it. Read once, when the definitions load (the webserver and the daemon load them).
"""

from dagster import DefaultScheduleStatus, DefaultSensorStatus

from orchestration.settings import settings_at_load

AUTOMATION_ON = settings_at_load().automation == "on"
SCHEDULE_STATUS = DefaultScheduleStatus.RUNNING if AUTOMATION_ON else DefaultScheduleStatus.STOPPED
SENSOR_STATUS = DefaultSensorStatus.RUNNING if AUTOMATION_ON else DefaultSensorStatus.STOPPED
