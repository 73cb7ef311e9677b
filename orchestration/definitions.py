"""The one Dagster `Definitions`: every asset, check, job, schedule and sensor under orchestration/defs/
(loaded with `load_from_defs_folder`), bound to the resources of one `Settings`.

raw loads -> dbt -> CLV fit -> dbt marts -> checks -> publish; see the README, "Where things go".
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from dagster import Definitions, in_process_executor, load_from_defs_folder

from orchestration.defs.transform.dbt import dbt_project
from orchestration.lib.dbt_cli import WarehouseDbtCli
from orchestration.lib.spark.engine import SparkEngine
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import Settings, settings_at_load


@cache
def _defs_folder() -> Definitions:
    return load_from_defs_folder(path_within_project=Path(__file__).parent)


def make_definitions(settings: Settings) -> Definitions:
    """Definitions bound to one set of settings (tests build into their own temporary directories)."""
    Path(settings.duckdb_path).parent.mkdir(parents=True, exist_ok=True)
    resources = Definitions(
        resources={
            "settings": settings,
            "warehouse": DuckDBWarehouse(path=settings.duckdb_path),
            "spark": SparkEngine(
                remote=settings.spark_remote or None,
                home=str(settings.spark_home()),
                port=settings.spark_port,
                driver_memory=settings.spark_driver_memory,
            ),
            # The dbt of this interpreter's environment, whether or not the venv is on PATH.
            "dbt": WarehouseDbtCli(
                project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")
            ),
        },
        # DuckDB has one writer at a time: steps run one after another in one process.
        executor=in_process_executor,
    )
    return Definitions.merge(_defs_folder(), resources)


settings = settings_at_load()
defs = make_definitions(settings)
