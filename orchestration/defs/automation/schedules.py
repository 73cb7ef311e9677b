"""Keeping the warehouse current: a daily build and a sensor that builds when new landing files arrive."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dagster import (
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from orchestration.defs.automation.status import SCHEDULE_STATUS, SENSOR_STATUS
from orchestration.lib.nothing_new import FULL_CHECKS_TAG
from orchestration.lib.raw_schema import RAW_TABLES, export_period
from orchestration.settings import Settings

daily_build = ScheduleDefinition(
    name="daily_build",
    job_name="build_warehouse",
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=SCHEDULE_STATUS,
    description="Rebuild every day at 02:00 UTC, after the nightly exports land (seconds when nothing new).",
)

weekly_full_checks = ScheduleDefinition(
    name="weekly_full_checks",
    job_name="build_warehouse",
    cron_schedule="0 4 * * 0",
    execution_timezone="UTC",
    tags={FULL_CHECKS_TAG: "true"},
    default_status=SCHEDULE_STATUS,
    description="Every Sunday at 04:00 UTC: the build with every check judging every row, not only the "
    "rows the day added (dbt tests and GX suites on whole tables, every reconciliation).",
)


def landing_files(landing_dir: Path) -> dict[str, str]:
    """Every landing file the loaders would read, relative path -> size and mtime (cheap change marker)."""
    found = {}
    for pattern in sorted({g for t in RAW_TABLES for g in t.globs}):
        for path in sorted(landing_dir.glob(pattern)):
            stat = path.stat()
            found[str(path.relative_to(landing_dir))] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return found


def periods_touched(files: list[str]) -> str:
    """The export periods a set of files covers, as `first..last` (or one period), for the run's tags."""
    periods = sorted({p for f in files if (p := export_period(f))})
    if not periods:
        return "unknown"
    return periods[0] if len(periods) == 1 else f"{periods[0]}..{periods[-1]}"


@sensor(
    job_name="build_warehouse",
    minimum_interval_seconds=60,
    default_status=SENSOR_STATUS,
    description="Start a build when files are added to or changed in the landing directory.",
)
def new_landing_files(context: SensorEvaluationContext, settings: Settings):
    # The cursor holds what was seen last time, so the sensor never opens the DuckDB file (lock-free).
    seen = json.loads(context.cursor) if context.cursor else {}
    current = landing_files(Path(settings.landing_dir))
    new = sorted(p for p, marker in current.items() if seen.get(p) != marker)
    if not new:
        return SkipReason("no new or changed landing files")
    context.update_cursor(json.dumps(current, sort_keys=True))
    run_key = hashlib.sha256("\n".join(f"{p}={current[p]}" for p in new).encode()).hexdigest()[:16]
    preview = ", ".join(new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
    context.log.info(f"{len(new)} new landing files: {preview}")
    # The run processes every new file at once: a week delivered late is a one-run backfill of that range.
    tags = {"landing/new_files": str(len(new)), "landing/periods": periods_touched(new)}
    return RunRequest(run_key=run_key, tags=tags)
