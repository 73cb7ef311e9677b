"""Load every new landing file of one file family in batches (one read per batch, one transaction per
file), and summarise what happened."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.lib.loads import ledger
from orchestration.lib.loads.files import csv_header, landing_files, relative_name, sha256_of, text_size
from orchestration.lib.loads.load_batch import (
    ALREADY_LOADED,
    READ_ERRORS,
    FilePlan,
    FileReport,
    drop_temp_tables,
    load_batch,
    plan_file,
)
from orchestration.lib.loads.sql import literal, raw_table
from orchestration.lib.loads.tables import ensure_raw_tables
from orchestration.lib.raw_schema import RawTable

_log = logging.getLogger(__name__)
BATCH_BYTES = 256 << 20  # text (uncompressed) read by one statement: bounds the working tables' memory
# The session settings of a load, restored after it. Timestamps without a UTC offset are read as UTC,
# whatever the caller's session says; line numbers come from rows kept in read order (read.py); commits
# write the write-ahead log, whose default 16 MiB threshold would checkpoint the database every few files.
LOAD_SETTINGS = {"TimeZone": "UTC", "preserve_insertion_order": "true", "checkpoint_threshold": "1GiB"}


@dataclass
class LoadReport:
    table: str
    files: list[FileReport] = field(default_factory=list)
    row_count: int = 0  # rows in the raw table after the load
    seconds: float = 0.0

    def with_status(self, status: str) -> list[FileReport]:
        return [f for f in self.files if f.status == status]

    @property
    def loaded(self) -> list[FileReport]:
        return [f for f in self.files if f.status in ledger.HOLDS_ROWS]

    @property
    def rejected(self) -> list[FileReport]:
        return self.with_status(ledger.REJECTED)

    @property
    def changed(self) -> list[FileReport]:
        return self.with_status(ledger.CHANGED)

    @property
    def skipped(self) -> list[FileReport]:
        return self.with_status(ALREADY_LOADED) + self.with_status(ledger.DUPLICATE)

    @property
    def rows_accepted(self) -> int:
        return sum(f.rows_accepted for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def new_columns(self) -> list[str]:
        return sorted({c for f in self.files for c in f.new_columns})


def load_table(
    con: duckdb.DuckDBPyConnection, table: RawTable, landing_dir: Path, log: logging.Logger | None = None
) -> LoadReport:
    """Create `raw.<table>` if missing (empty when no file exists) and load its new or changed files."""
    return load_tables(con, [table], landing_dir, log)[table.name]


def load_tables(
    con: duckdb.DuckDBPyConnection,
    tables: list[RawTable],
    landing_dir: Path,
    log: logging.Logger | None = None,
) -> dict[str, LoadReport]:
    """Load tables fed by the same files (orders and their lines) reading each file once."""
    log = log or _log
    started = time.perf_counter()
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing directory {landing_dir} does not exist")
    globs = {t.globs for t in tables}
    if len(globs) != 1:
        raise ValueError(f"{[t.name for t in tables]} are not loaded from the same files")
    for table in tables:
        ensure_raw_tables(con, table)
    previous = {
        name: con.execute(f"select current_setting('{name}')").fetchall()[0][0] for name in LOAD_SETTINGS
    }
    for name, value in LOAD_SETTINGS.items():
        con.execute(f"set {name} = {literal(value)}")
    reports = {t.name: LoadReport(t.name) for t in tables}
    ledgers = [(t, ledger.TableLedger(con, t.name)) for t in tables]

    def load(batch: list[FilePlan]) -> None:
        for plan_reports in load_batch(con, batch):
            for name, result in plan_reports.items():
                reports[name].files.append(result)
                if result.status != ALREADY_LOADED:
                    log.info(
                        f"raw.{name} <- {result.file}: {result.status}, {result.rows_accepted} rows "
                        f"accepted, {result.rows_quarantined} quarantined {result.message}".rstrip()
                    )
        batch.clear()
        batch_checksums.clear()

    try:
        batch: list[FilePlan] = []
        batch_shape, batch_bytes = None, 0
        batch_checksums: set[str] = set()  # of the batch's files to read
        for path in landing_files(landing_dir, tables[0]):
            sha256, size = sha256_of(path)
            if sha256 in batch_checksums:  # a duplicate or not, by what the batch's file turns out to be
                load(batch)
            plan = plan_file(ledgers, relative_name(landing_dir, path), path, sha256, size)
            if plan.to_read:
                shape = _shape(path, tables[0])
                text = text_size(path, size)
                if batch_checksums and (shape != batch_shape or batch_bytes + text > BATCH_BYTES):
                    load(batch)
                if not batch_checksums:
                    batch_shape, batch_bytes = shape, 0
                batch_bytes += text
                batch_checksums.add(sha256)
            batch.append(plan)
        load(batch)
    finally:
        drop_temp_tables(con, tables)
        for name, value in previous.items():
            con.execute(f"set {name} = {literal(str(value))}")
    for report in reports.values():
        report.row_count = con.execute(f"select count(*) from {raw_table(report.table)}").fetchall()[0][0]
        report.seconds = time.perf_counter() - started
    return reports


def _shape(path: Path, table: RawTable) -> object:
    """What the files of one batch share: a CSV file's header line (a file that cannot be read is alone)."""
    if table.format != "csv":
        return None
    try:
        return tuple(csv_header(path) or ())
    except READ_ERRORS:
        return path
