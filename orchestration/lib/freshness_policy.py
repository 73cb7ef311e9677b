"""The freshness policy every raw load, mart and the serving copy carries (Dagster's asset health).

An asset not materialized within `Settings.fresh_within_hours` (RW_FRESH_WITHIN_HOURS, 26 by default: the
daily schedule runs at 02:00 UTC, plus slack for a slow run) turns red in the UI. Dagster's daemon evaluates
policies between runs, so a stopped warehouse shows up without a check or sensor of ours. The window is read
when the definitions load.
"""

import datetime as dt

from dagster import FreshnessPolicy

from orchestration.settings import settings_at_load

FRESH_WITHIN = dt.timedelta(hours=settings_at_load().fresh_within_hours)
FRESHNESS_POLICY = FreshnessPolicy.time_window(fail_window=FRESH_WITHIN)
