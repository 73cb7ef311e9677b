"""One Dagster asset per raw table: load its landing files into `raw.<table>` (orchestration/loads).

A file with a missing required column is rejected (recorded in the ledger, nothing of it loaded). The
asset still loads every other file, then fails with a `Failure` naming each rejected file and column, so
the dbt models downstream do not build on a table that silently lacks a file. The failure repeats on
every run until the file is fixed (new content is loaded) or removed from the landing directory.
A re-exported file (changed after it was loaded) replaces its earlier rows and is reported as a warning.
"""

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)
from pydantic import Field

from orchestration.loads import LoadReport, load_table
from orchestration.raw_schema import RAW_TABLES, RawTable
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import Settings


class LandingConfig(Config):
    landing_dir: str | None = Field(
        default=None, description="Landing directory to load; default RW_LANDING_DIR (Settings.from_env())."
    )


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


def raw_asset(table: RawTable) -> AssetsDefinition:
    schema = TableSchema(
        columns=[TableColumn(c.name, c.type, description=c.doc) for c in table.columns]
        + [
            TableColumn("_file", "VARCHAR", description="Landing file, relative to the landing directory."),
            TableColumn("_line", "BIGINT", description="Line of the record in that file (header = 1)."),
            TableColumn("_loaded_at", "TIMESTAMPTZ", description="When the file was loaded."),
        ]
    )

    @asset(
        key=["raw", table.name],
        group_name="raw",
        owners=["team:data-platform"],
        description=table.doc,
        kinds={"duckdb"},
        metadata={"dagster/column_schema": schema, "landing_globs": ", ".join(table.globs)},
    )
    def _load(context: AssetExecutionContext, warehouse: DuckDBWarehouse, config: LandingConfig):
        landing_dir = Path(config.landing_dir) if config.landing_dir else Settings.from_env().landing_dir
        with warehouse.connect() as con:
            report = load_table(con, table, landing_dir, log=context.log)
        for f in report.changed:
            context.log.warning(f.message)
        metadata = report_metadata(report)
        if report.rejected:
            for f in report.rejected:
                context.log.error(f.message)
            raise Failure(
                description=f"raw.{table.name}: {len(report.rejected)} file(s) rejected: "
                + "; ".join(f.message for f in report.rejected),
                metadata=metadata,
            )
        return MaterializeResult(metadata=metadata)

    return _load


raw_assets = [raw_asset(table) for table in RAW_TABLES]
