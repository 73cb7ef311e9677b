"""Turn a committed GX suite into Dagster asset checks: the one integration point between GX and Dagster.

`gx_asset_checks(suite, asset, source)` makes one check step that asks `source` for small pandas frames
computed in DuckDB (rows of newly loaded files, a small mart, or a profile of violation counts of a big
one), validates each with the suite, keeps the results and renders Data Docs. It reports up to two checks:

- `<suite>`: the suite's `critical` expectations, severity ERROR, `blocking=True`. Dagster makes every
  asset downstream of the checked asset wait for a blocking check, also when the check is defined apart
  from the asset (dagster/_core/definitions/assets/job/asset_job.py, build_node_deps), and a failed
  blocking check fails its step, so downstream assets in the same run are skipped;
- `<suite>_warnings`: the `warning` expectations, severity WARN, recorded and shown, never blocking.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from orchestration.lib.nothing_new import full_checks_requested
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import PROJECT_ROOT, Settings

CONTEXT_DIR = PROJECT_ROOT / "expectations"  # the committed GX file context (lib/quality/context.py)

MAX_MESSAGES = 8


@dataclass(frozen=True)
class Batch:
    label: str  # what a person calls this batch: a file group, a mart
    frame: pd.DataFrame
    index_columns: tuple[str, ...] = ()  # columns that locate an unexpected row (file, line, key)
    payload: Any = None  # whatever the source needs back in accept()
    unit: str = "rows"  # what one row of the frame is, for messages


class BatchSource(Protocol):
    def batches(self, con: duckdb.DuckDBPyConnection, everything: bool = False) -> list[Batch]:
        """The frames to validate: what is new since the suite last passed, or `everything`."""

    def accept(self, con: duckdb.DuckDBPyConnection, batches: list[Batch]) -> None:
        """Called after every critical expectation passed on every batch (e.g. to mark files validated)."""


@dataclass(frozen=True)
class SqlFrame:
    """One frame from one DuckDB query: a small mart, or a profile that aggregates a big one."""

    query: str
    label: str
    index_columns: tuple[str, ...] = field(default=())

    def batches(self, con: duckdb.DuckDBPyConnection, everything: bool = False) -> list[Batch]:
        return [Batch(self.label, con.execute(self.query).df(), self.index_columns)]

    def accept(self, con: duckdb.DuckDBPyConnection, batches: list[Batch]) -> None:
        return None


def _examples(result: dict) -> str:
    rows = result.get("partial_unexpected_index_list") or []
    if rows:
        # Rows are {column: value} when the batch has index columns, else bare row numbers.
        shown = [
            ", ".join(f"{k}={v}" for k, v in row.items() if v not in (None, ""))
            if isinstance(row, dict)
            else f"row {row}"
            for row in rows[:3]
        ]
        return "; e.g. " + " | ".join(shown)
    values = result.get("partial_unexpected_list") or []
    return f"; e.g. {values[:3]}" if values else ""


def explain(batch: Batch, expectation_result) -> str:
    """One line a person can act on: which batch, which rule, how many rows, where."""
    label = batch.label
    config = expectation_result.expectation_config
    rule = config.description or config.type
    result = expectation_result.result or {}
    if expectation_result.exception_info.get("raised_exception"):
        return f"{label}: could not check '{rule}': {expectation_result.exception_info['exception_message']}"
    if "unexpected_count" in result and result.get("element_count"):
        count, total = result["unexpected_count"], result["element_count"]
        column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", []))
        where = f" [{column}]" if column else ""
        return f"{label}: '{rule}' fails for {count} of {total} {batch.unit}{where}{_examples(result)}"
    return f"{label}: '{rule}' fails (observed {result.get('observed_value')!r})"


@dataclass(frozen=True)
class GxCheck:
    """One suite validated on the frames of one source, reported as checks on one asset."""

    suite_name: str
    asset_key: AssetKey
    source: BatchSource

    @property
    def severities(self) -> set[str]:
        data = json.loads((CONTEXT_DIR / "expectations" / f"{self.suite_name}.json").read_text())
        return {e.get("severity", "critical") for e in data["expectations"]}

    def specs(self, additional_deps: list[AssetKey]) -> list[AssetCheckSpec]:
        additional_deps = [d for d in additional_deps if d != self.asset_key]
        about = f"Great Expectations suite expectations/expectations/{self.suite_name}.json"
        specs = [
            AssetCheckSpec(
                self.suite_name,
                asset=self.asset_key,
                blocking=True,
                additional_deps=additional_deps,
                description=f"{about}: critical expectations (ERROR, blocks downstream assets)",
            )
        ]
        if "warning" in self.severities:
            specs.append(
                AssetCheckSpec(
                    f"{self.suite_name}_warnings",
                    asset=self.asset_key,
                    additional_deps=additional_deps,
                    description=f"{about}: warning expectations (WARN, recorded, never blocking)",
                )
            )
        return specs


def gx_check(suite_name: str, asset_key: AssetKey | Sequence[str], source: BatchSource) -> GxCheck:
    return GxCheck(suite_name, AssetKey.from_coercible(asset_key), source)


def _summary(level: str, batches: list[Batch], rows: int, messages: list[str]) -> str:
    if not batches:
        return "nothing new to validate"
    if not messages:
        return f"{len(batches)} batch(es), {rows} rows: every {level} expectation met"
    more = len(messages) - MAX_MESSAGES
    return "\n".join(messages[:MAX_MESSAGES]) + (f"\n... and {more} more" if more > 0 else "")


def gx_asset_checks(
    name: str,
    checks: Sequence[GxCheck],
    *,
    additional_deps: Sequence[AssetKey | Sequence[str]] = (),
) -> AssetChecksDefinition:
    """One Dagster step that validates every `checks` suite and reports its ERROR (blocking) and WARN
    checks. Checks that run after the same assets share a step: GX's fixed cost (context, Data Docs
    index) is paid once, and Dagster blocks what is downstream of each checked asset all the same."""
    deps = [AssetKey.from_coercible(d) for d in additional_deps]
    specs = [spec for c in checks for spec in c.specs(deps)]
    spec_names = {(s.asset_key, s.name) for s in specs}

    @multi_asset_check(specs=specs, name=name, compute_kind="great_expectations")
    def _check(context: AssetCheckExecutionContext, warehouse: DuckDBWarehouse, settings: Settings):
        reports_dir = Path(settings.reports_dir)
        run_name = context.run.run_id[:8]
        everything = full_checks_requested(context.run.tags)  # weekly / full refresh
        gx = None  # GX is imported and its context opened only when a batch needs validating
        outcomes, keys = [], []
        # One connection for the step (opening the warehouse file costs ~40 ms, twice per suite otherwise).
        with warehouse.connect() as con:
            con.execute("set enable_progress_bar = false")
            for check in checks:
                batches = check.source.batches(con, everything)
                failed: dict[str, list[str]] = {"critical": [], "warning": []}
                rows, check_keys = 0, []
                if batches and gx is None:
                    from orchestration.lib.quality import context as gx

                    gx_context = gx.open_context(reports_dir)
                for batch in batches:
                    result, key = gx.validate_frame(
                        gx_context,
                        check.suite_name,
                        batch.frame,
                        run_name=run_name,
                        batch_label=batch.label,
                        index_columns=batch.index_columns,
                    )
                    rows += len(batch.frame)
                    check_keys.append(key)
                    for r in result.results:
                        if not r.success:
                            warning = r.expectation_config.severity.value == "warning"
                            failed["warning" if warning else "critical"].append(explain(batch, r))
                if batches and not failed["critical"]:
                    check.source.accept(con, batches)
                outcomes.append((check, batches, rows, failed, check_keys))
                keys += check_keys
        metadata = {}
        if gx is not None:
            index = gx.render_data_docs(gx_context, reports_dir, keys)
            metadata = {
                "data_docs": MetadataValue.path(str(index)),
                "data_docs_url": MetadataValue.url(index.as_uri()),
            }
        for check, batches, rows, failed, check_keys in outcomes:
            pages = [f"- {gx.result_page(reports_dir, k).as_uri()}" for k in check_keys] if gx else []
            check_metadata = {
                **metadata,
                "result_pages": MetadataValue.md("\n".join(pages) or "none"),
                "batches": MetadataValue.int(len(batches)),
                "rows_validated": MetadataValue.int(rows),
            }
            for check_name, severity, level in (
                (check.suite_name, AssetCheckSeverity.ERROR, "critical"),
                (f"{check.suite_name}_warnings", AssetCheckSeverity.WARN, "warning"),
            ):
                if (check.asset_key, check_name) not in spec_names:
                    continue
                yield AssetCheckResult(
                    asset_key=check.asset_key,
                    check_name=check_name,
                    passed=not failed[level],
                    severity=severity,
                    description=_summary(level, batches, rows, failed[level]),
                    metadata={**check_metadata, "failures": MetadataValue.int(len(failed[level]))},
                )

    return _check
