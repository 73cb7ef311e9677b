"""The raw load assets: each loads one file family's landing files into its `raw.<table>` tables
(orchestration/lib/loads). The orders files feed two tables, `raw.shop_orders` and `raw.shop_order_lines`:
one multi-asset reads and parses each orders file once for both.

A file with a missing required column is rejected (recorded in the ledger, nothing of it loaded). The
asset still loads every other file, then fails with a `Failure` naming each rejected file and column, so
the dbt models downstream do not build on a table that silently lacks a file. The failure repeats on
every run until the file is fixed (new content is loaded) or removed from the landing directory; it is
not retried within the run (the same bytes would be rejected again). A re-exported file (changed after
it was loaded) replaces its earlier rows and is reported as a warning.

Any other error is retried with exponential backoff and jitter (`RAW_LOAD_RETRY`): typically the DuckDB
file lock held by another process for longer than `DuckDBWarehouse.connect` waits. A retry is cheap and
safe: files committed by the failed attempt are skipped, an interrupted file left no trace.
"""

from collections.abc import Iterator
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    TableColumn,
    TableSchema,
    multi_asset,
)

from orchestration.lib.freshness_policy import FRESHNESS_POLICY
from orchestration.lib.loads import LoadReport, load_tables
from orchestration.lib.raw_schema import RAW_TABLES, RawTable
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import Settings

# Waits before the retries: about 5, 15 and 35 s (each +-5 s), after connect's own lock waits (~31 s)
# in every attempt: a lock still held after about three minutes fails the step.
RAW_LOAD_RETRY = RetryPolicy(max_retries=3, delay=5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)


def _files_table(report: LoadReport) -> str:
    rows = [f for f in report.files if f.status != "already_loaded"]
    if not rows:
        return "No new or changed files."
    lines = [
        "| file | status | rows in file | accepted | quarantined | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for f in rows:
        note = f.message.replace("|", "/")
        counts = f"{f.rows_in_file} | {f.rows_accepted} | {f.rows_quarantined}"
        lines.append(f"| {f.file} | {f.status} | {counts} | {note} |")
    return "\n".join(lines)


def report_metadata(report: LoadReport) -> dict:
    warnings = [f.message for f in report.changed] + [f.message for f in report.rejected]
    return {
        "files_loaded": MetadataValue.int(len(report.loaded)),
        "files_skipped": MetadataValue.int(len(report.skipped)),
        "files_rejected": MetadataValue.int(len(report.rejected)),
        "files_changed_after_load": MetadataValue.int(len(report.changed)),
        "rows_accepted": MetadataValue.int(report.rows_accepted),
        "rows_quarantined": MetadataValue.int(report.rows_quarantined),
        "dagster/row_count": MetadataValue.int(report.row_count),
        "seconds": MetadataValue.float(round(report.seconds, 3)),
        "new_columns": MetadataValue.text(", ".join(report.new_columns) or "none"),
        "warnings": MetadataValue.md("\n".join(f"- {w}" for w in warnings) or "none"),
        "files": MetadataValue.md(_files_table(report)),
    }


def _spec(table: RawTable) -> AssetSpec:
    schema = TableSchema(
        columns=[TableColumn(c.name, c.type, description=c.doc) for c in table.columns]
        + [
            TableColumn("_file", "VARCHAR", description="Landing file, relative to the landing directory."),
            TableColumn("_line", "BIGINT", description="Line of the record in that file (header = 1)."),
            TableColumn("_loaded_at", "TIMESTAMPTZ", description="When the file was loaded."),
        ]
    )
    return AssetSpec(
        key=["raw", table.name],
        group_name="raw",
        owners=["team:data-platform"],
        description=table.doc,
        kinds={"duckdb"},
        metadata={"dagster/column_schema": schema, "landing_globs": ", ".join(table.globs)},
        freshness_policy=FRESHNESS_POLICY,
    )


def raw_load_asset(tables: list[RawTable], retry_policy: RetryPolicy = RAW_LOAD_RETRY) -> AssetsDefinition:
    """One asset per table, loaded together from the files they share (each file read once)."""

    @multi_asset(
        name="raw__" + "_and_".join(t.name for t in tables),
        specs=[_spec(t) for t in tables],
        can_subset=True,
        retry_policy=retry_policy,
    )
    def _load(
        context: AssetExecutionContext, warehouse: DuckDBWarehouse, settings: Settings
    ) -> Iterator[MaterializeResult]:
        landing_dir = Path(settings.landing_dir)
        selected = [t for t in tables if AssetKey(["raw", t.name]) in context.selected_asset_keys]
        with warehouse.connect() as con:
            reports = load_tables(con, selected, landing_dir, log=context.log)
        rejected = []
        for table in selected:
            report = reports[table.name]
            for f in report.changed:
                context.log.warning(f.message)
            if report.rejected:
                rejected.append(report)
            else:
                yield MaterializeResult(asset_key=["raw", table.name], metadata=report_metadata(report))
        if rejected:
            summaries = []
            for report in rejected:
                for f in report.rejected:
                    context.log.error(f.message)
                messages = "; ".join(f.message for f in report.rejected)
                summaries.append(f"raw.{report.table}: {len(report.rejected)} file(s) rejected: {messages}")
            raise Failure(
                description="; ".join(summaries),
                metadata=report_metadata(rejected[0]) if len(rejected) == 1 else None,
                allow_retries=False,  # the same bytes would be rejected again
            )

    return _load


def file_families(tables: tuple[RawTable, ...] = RAW_TABLES) -> list[list[RawTable]]:
    """Tables grouped by the landing files they load from, in schema order."""
    families: dict[tuple[str, str], list[RawTable]] = {}
    for table in tables:
        families.setdefault(table.globs, []).append(table)
    return list(families.values())


raw_assets = [raw_load_asset(family) for family in file_families()]
