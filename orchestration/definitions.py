"""The one Dagster `Definitions`: raw loads -> dbt -> CLV fit -> dbt marts -> checks -> publish."""

from __future__ import annotations

import sys
from pathlib import Path

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor
from dagster_dbt import DbtCliResource

from orchestration.assets.clv import clv_assets
from orchestration.assets.dbt import dbt_after_clv, dbt_before_clv, dbt_project
from orchestration.assets.raw import raw_assets
from orchestration.assets.serving import ServingTarget, serving_assets
from orchestration.quality import quality_checks
from orchestration.quality.asset_freshness import asset_freshness_checks, freshness_check_sensor
from orchestration.resources import DuckDBWarehouse
from orchestration.schedules import daily_build, new_landing_files
from orchestration.sensors import alert_sensors
from orchestration.settings import Settings

build_warehouse = define_asset_job(
    "build_warehouse",
    # Freshness checks are judged between runs by their sensor: inside the run they would only say "just now".
    selection=AssetSelection.all() - AssetSelection.checks(*asset_freshness_checks),
    description="Load new landing files, build all dbt models, fit CLV, run every quality check, publish.",
)


def make_definitions(settings: Settings) -> Definitions:
    """Definitions bound to one set of paths (tests build into their own temporary directories)."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    return Definitions(
        assets=[*raw_assets, dbt_before_clv, *clv_assets, dbt_after_clv, *serving_assets],
        asset_checks=[*quality_checks, *asset_freshness_checks],
        jobs=[build_warehouse],
        schedules=[daily_build],
        sensors=[new_landing_files, freshness_check_sensor, *alert_sensors],
        resources={
            "warehouse": DuckDBWarehouse(path=str(settings.duckdb_path)),
            # The dbt of this interpreter's environment, whether or not the venv is on PATH.
            "dbt": DbtCliResource(
                project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")
            ),
            "serving": ServingTarget(
                serving_dir=str(settings.serving_dir), reports_dir=str(settings.reports_dir)
            ),
        },
        # DuckDB has one writer at a time: steps run one after another in one process.
        executor=in_process_executor,
    )


settings = Settings.from_env()
defs = make_definitions(settings)
