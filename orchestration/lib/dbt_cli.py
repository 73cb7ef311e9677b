"""dagster-dbt's dbt CLI resource without the dbt work it does inside the Dagster process on every step.

Before each dbt command, `DbtCliResource.cli` builds a dbt adapter in the Dagster process (loading the
profile and dbt's macros) for `fetch_column_metadata()`/`fetch_row_counts()`, which this project does not
call (row counts: orchestration/defs/transform/row_counts.py), and it asks the executable for its version
by running `dbt --version`, a second Python start-up that imports dbt. The executable is always the dbt
of this environment (orchestration/definitions.py), so its version is the installed dbt-core's.
Measured in `python -m bench.run` (issue 12, bench/RESULTS.md).
"""

from __future__ import annotations

from importlib.metadata import version as installed_version
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version


class WarehouseDbtCli(DbtCliResource):
    @property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> None:
        return None  # only the metadata fetchers read it (DbtCliInvocation.adapter defaults to None)
