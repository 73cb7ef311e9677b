"""Dagster freshness checks: every raw load, mart and the serving copy must have been updated recently.

The daily schedule runs at 02:00 UTC, so an asset not materialized for `RW_FRESH_WITHIN_HOURS` (26 by
default: a day plus slack for a slow run) means the warehouse stopped running and turns red in the UI.
A sensor evaluates the checks between runs, since a stopped warehouse runs nothing that would. That a
*source* stopped delivering while runs go on is the other half: `dbt_source_freshness` (freshness.py)
judges the age of the newest raw row against the dbt thresholds.
"""

import datetime as dt
import os

from dagster import (
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    DefaultSensorStatus,
    SensorDefinition,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from orchestration.assets.dbt import dbt_after_clv, dbt_before_clv
from orchestration.assets.raw import raw_assets
from orchestration.assets.serving import serving_assets

FRESH_WITHIN = dt.timedelta(hours=float(os.environ.get("RW_FRESH_WITHIN_HOURS", "26")))


def _mart_keys() -> list[AssetKey]:
    """The models under dbt_project/models/marts (what BI reads), not staging or intermediate."""
    keys = []
    for assets_def in (dbt_before_clv, dbt_after_clv):
        for key in assets_def.keys:
            # dagster/table_name is <database>.<schema>.<table>
            if assets_def.specs_by_key[key].metadata["dagster/table_name"].split(".")[1] == "marts":
                keys.append(key)
    return keys


def _keys(assets_defs) -> list[AssetKey]:
    return [key for assets_def in assets_defs for key in assets_def.keys]


FRESHNESS_KEYS: list[AssetKey] = [*_keys(raw_assets), *_mart_keys(), *_keys(serving_assets)]

asset_freshness_checks: list[AssetChecksDefinition] = list(
    build_last_update_freshness_checks(
        assets=FRESHNESS_KEYS, lower_bound_delta=FRESH_WITHIN, severity=AssetCheckSeverity.ERROR
    )
)

freshness_check_sensor: SensorDefinition = build_sensor_for_freshness_checks(
    freshness_checks=asset_freshness_checks,
    minimum_interval_seconds=600,
    name="freshness_checks_sensor",
    default_status=DefaultSensorStatus.RUNNING,
)
