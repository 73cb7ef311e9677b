"""Freshness, in one place: is the warehouse running, and is each source still delivering?

- Asset freshness: every raw load, mart and the serving copy (FRESHNESS_KEYS) carries the Dagster
  `FreshnessPolicy` of orchestration/lib/freshness_policy.py, set where each is defined; the daemon judges
  it between runs and the UI shows it as asset health. (It replaced Dagster's last-update freshness checks
  and their sensor.)
- Source freshness (`dbt_source_freshness`, non-blocking): the age of the newest row of each raw table
  against dbt's thresholds (`loaded_at_field`, `warn_after`, `error_after` of each `raw` source in the
  sources YAML), evaluated the way `dbt source freshness` does with one DuckDB query instead of starting
  dbt, which cost several seconds per build. Stale data is shown (WARN past warn_after, ERROR past
  error_after) but never blocks: the marts are still right as of the data they have.
"""

import datetime as dt
import json
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from orchestration.defs.raw.assets import raw_assets
from orchestration.defs.serving.assets import serving_assets
from orchestration.defs.transform.dbt import dbt_after_clv, dbt_before_clv
from orchestration.lib.raw_schema import RAW_TABLES
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import DBT_PROJECT_DIR


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


# The assets with the freshness policy (set on them in raw/assets.py, transform/dbt.py, serving/assets.py).
FRESHNESS_KEYS: list[AssetKey] = [*_keys(raw_assets), *_mart_keys(), *_keys(serving_assets)]

# Source freshness

CHECK_NAME = "dbt_source_freshness"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PERIOD = {"minute": dt.timedelta(minutes=1), "hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}


def source_freshness_config(manifest: Path = MANIFEST) -> dict[str, dict]:
    """table -> {loaded_at_field, warn_after, error_after} for the dbt source `raw`."""
    sources = json.loads(manifest.read_text())["sources"].values()
    out = {}
    for s in sources:
        if s["source_name"] != "raw" or not s.get("loaded_at_field"):
            continue
        freshness = s.get("freshness") or {}
        out[s["name"]] = {
            "loaded_at_field": s["loaded_at_field"],
            **{
                level: PERIOD[f["period"]] * f["count"]
                for level in ("warn_after", "error_after")
                if (f := freshness.get(level)) and f.get("count") and f.get("period")
            },
        }
    return out


def freshness_status(age: dt.timedelta | None, config: dict) -> str:
    if age is None:
        return "no rows"
    if "error_after" in config and age > config["error_after"]:
        return "error"
    if "warn_after" in config and age > config["warn_after"]:
        return "warn"
    return "pass"


@multi_asset_check(
    specs=[
        AssetCheckSpec(
            CHECK_NAME,
            asset=["raw", t.name],
            description=f"dbt source freshness of raw.{t.name} (thresholds from the dbt sources YAML)",
        )
        for t in RAW_TABLES
    ],
    name="dbt_source_freshness",
    compute_kind="dbt",
)
def dbt_source_freshness(context: AssetCheckExecutionContext, warehouse: DuckDBWarehouse):
    configs = source_freshness_config()
    tables = [t.name for t in RAW_TABLES if t.name in configs]
    query = " union all ".join(
        f"select '{t}' as name, max(\"{configs[t]['loaded_at_field']}\") as loaded_at, now() as now "
        f'from raw."{t}"'
        for t in tables
    )
    with warehouse.connect() as con:
        latest = {name: (loaded, now) for name, loaded, now in con.execute(query).fetchall()}
    for table in RAW_TABLES:
        config = configs.get(table.name, {})
        loaded, now = latest.get(table.name, (None, None))
        age = (now - loaded) if loaded is not None else None
        status = freshness_status(age, config)
        if status == "no rows":
            text = "no rows loaded yet (this source has sent no files)"
        else:
            text = (
                f"{status}: last load {loaded:%Y-%m-%d %H:%M} UTC, {age.total_seconds() / 86400:.1f} days ago"
            )
        yield AssetCheckResult(
            asset_key=["raw", table.name],
            check_name=CHECK_NAME,
            passed=status in ("pass", "no rows"),
            severity=AssetCheckSeverity.ERROR if status == "error" else AssetCheckSeverity.WARN,
            description=text,
            metadata={
                "status": MetadataValue.text(status),
                "max_loaded_at": MetadataValue.text(str(loaded)),
                "warn_after_days": MetadataValue.float(
                    config.get("warn_after", dt.timedelta()).total_seconds() / 86400
                ),
                "error_after_days": MetadataValue.float(
                    config.get("error_after", dt.timedelta()).total_seconds() / 86400
                ),
            },
        )
