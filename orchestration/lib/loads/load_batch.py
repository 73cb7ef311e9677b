"""Load a batch of landing files of one family into their raw tables (one, or several for a JSON lines
family): one read and one validation for the whole batch, then each file all or nothing.

Everything a file changes (its rows in every table it feeds, its quarantined rows, its ledger rows, new
columns) is written in one transaction of its own, so a crash leaves either the whole file or no trace of
it and a rerun completes the load. A file is read and parsed once, however many tables it feeds. When the
batch cannot be read (one corrupt file fails the statement), its files are loaded one by one, so each
file's outcome and message are those of a load of that file alone.

What happens to a file in each table, by its path and checksum against that table's ledger:
- path and checksum already recorded: skipped (nothing written), except a rejected file, which is read
  again (the cause may have been transient) and recorded again only if the outcome changed;
- new path, but the same bytes already loaded under another path: recorded `skipped_duplicate_content`;
- path loaded before with other bytes: the file was re-exported. Its earlier rows and quarantined rows
  are deleted and the new content loaded in the same transaction, recorded `changed_after_load` with the
  old and new checksums; the asset reports it as a warning. Staging deduplicates on the natural key, so
  replacing keeps the warehouse equal to the landing directory and never counts a record twice;
- a required column missing (or the file unreadable): recorded `rejected` naming the file and column;
  nothing of it is loaded (the earlier rows of a changed file are removed too: the file now on disk is
  not valid);
- a file removed from the landing directory keeps its rows: the raw layer is the history of what arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.lib.loads import ledger
from orchestration.lib.loads.read import Staged, stage
from orchestration.lib.loads.sql import raw_table
from orchestration.lib.loads.tables import add_text_columns, table_columns
from orchestration.lib.loads.validate import check, checked_table, insert_sql
from orchestration.lib.raw_schema import RawTable

ALREADY_LOADED = "already_loaded"  # reported, never written to the ledger
READ_ERRORS = (duckdb.Error, OSError, EOFError, UnicodeError)
# Read into working tables, freed once the batch is checked.
STAGING_TABLES = (
    "_rw_parsed",
    "_rw_bad",
    "_rw_taken",
    "_rw_rejects",
    "_rw_reject_scans",
    "_rw_lines",
    "_rw_items",
)


@dataclass
class FileReport:
    file: str
    status: str  # a ledger status, or already_loaded
    rows_in_file: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    message: str = ""
    new_columns: list[str] = field(default_factory=list)


@dataclass
class _Target:
    """One table fed by the file being loaded, with that table's ledger and what it held of the file."""

    table: RawTable
    ledger: ledger.TableLedger
    prior: ledger.LedgerEntry | None

    @property
    def replaces_rows(self) -> bool:
        return self.prior is not None and self.prior.status in ledger.HOLDS_ROWS


@dataclass
class FilePlan:
    """One landing file: the tables that hold it already (`reports`), that get it as a duplicate of another
    file's content (`duplicates`: the message), and the rest, which read it."""

    path: Path
    file: str
    sha256: str
    size: int
    reports: dict[str, FileReport]
    targets: list[_Target]
    duplicates: dict[str, str]

    @property
    def to_read(self) -> list[_Target]:
        return [t for t in self.targets if t.table.name not in self.duplicates]


@dataclass
class _Checked:
    """One table's staged and checked rows of the batch, with (accepted, quarantined) per `_rw_file`."""

    staged: Staged
    counts: dict[int, tuple[int, int]]


def plan_file(
    tables: list[tuple[RawTable, ledger.TableLedger]], file: str, path: Path, sha256: str, size: int
) -> FilePlan:
    """What loading `path` (checksum `sha256`) does to every table of `tables`, each with its ledger."""
    reports: dict[str, FileReport] = {}
    targets = []
    for table, table_ledger in tables:
        prior = table_ledger.latest(file)
        if prior and prior.sha256 == sha256 and prior.status != ledger.REJECTED:
            message = f"{prior.status} at {prior.loaded_at}"
            reports[table.name] = FileReport(file, ALREADY_LOADED, message=message)
        else:
            targets.append(_Target(table, table_ledger, prior))
    duplicates = {}
    for t in targets:
        holder = None if t.replaces_rows else t.ledger.holder_of_content(sha256, file)
        if holder:
            duplicates[t.table.name] = f"{file}: same content as {holder}, which is already loaded"
    return FilePlan(path, file, sha256, size, reports, targets, duplicates)


def load_batch(con: duckdb.DuckDBPyConnection, plans: list[FilePlan]) -> list[dict[str, FileReport]]:
    """Load the files of `plans` (of one family; CSV files sharing one header line; no two to read with the
    same content), each in its own transaction, in order. Their reports, in the same order."""
    reading = [p for p in plans if p.to_read]
    checked: dict[str, _Checked] = {}
    error = None
    if reading:
        try:
            checked = _stage_and_check(con, reading)
        except READ_ERRORS as exc:
            if len(reading) > 1:  # which file, and why: each file alone says
                return [reports for plan in plans for reports in load_batch(con, [plan])]
            error = exc
    numbers = {id(plan): number for number, plan in enumerate(reading, start=1)}
    return [commit_file(con, plan, checked, numbers.get(id(plan)), error) for plan in plans]


def _stage_and_check(con: duckdb.DuckDBPyConnection, reading: list[FilePlan]) -> dict[str, _Checked]:
    """Read every file of the batch once, then type and check each table's rows in one statement."""
    names = {t.table.name for plan in reading for t in plan.to_read}
    tables = [t.table for t in reading[0].targets + [t for p in reading for t in p.to_read]]
    tables = list({t.name: t for t in tables if t.name in names}.values())
    staged = stage(con, [plan.path for plan in reading], tables)
    checked = {}
    for table in tables:
        counts = {}
        if staged[table.name].sql:
            check(con, table, staged[table.name])
            rows = con.execute(
                "select _rw_file, count(*) filter (_reason is null), count(*) filter (_reason is not null) "
                f"from {checked_table(table)} group by _rw_file"
            ).fetchall()
            counts = {number: (accepted, quarantined) for number, accepted, quarantined in rows}
        checked[table.name] = _Checked(staged[table.name], counts)
    for name in STAGING_TABLES:
        con.execute(f"drop table if exists {name}")
    return checked


def commit_file(
    con: duckdb.DuckDBPyConnection,
    plan: FilePlan,
    checked: dict[str, _Checked],
    number: int | None,
    error: BaseException | None = None,
) -> dict[str, FileReport]:
    """Write what one file of the batch changes (`number`: its `_rw_file`) in one transaction; `error`: the
    batch of this file alone could not be read."""
    file, sha256, size, targets, duplicates = plan.file, plan.sha256, plan.size, plan.targets, plan.duplicates
    reports = dict(plan.reports)
    to_read = plan.to_read
    if not targets:
        return reports
    con.begin()
    try:
        _record_duplicates(con, targets, file, sha256, size, duplicates, reports)
        if error is not None:
            raise error
        for t in to_read:
            replaced = _remove_rows(con, t.table, file) if t.replaces_rows else None
            reports[t.table.name] = _load_table(
                con, t, checked[t.table.name], number, file, (sha256, size), replaced
            )
        con.commit()
    except READ_ERRORS as exc:
        con.rollback()
        names = " and ".join(t.table.name for t in to_read)
        message = f"{file}: could not be read as {names}: {_short(str(exc))}"
        con.begin()
        _record_duplicates(con, targets, file, sha256, size, duplicates, reports)
        for t in to_read:
            if t.replaces_rows:
                _remove_rows(con, t.table, file)
            _record_rejection(con, t, file, sha256, size, message)
            reports[t.table.name] = FileReport(file, ledger.REJECTED, message=message)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    now = datetime.now(UTC)
    for t in targets:
        report = reports[t.table.name]
        t.ledger.note(ledger.LedgerEntry(file, sha256, report.status, report.message or None, now))
    return reports


def _record_duplicates(con, targets, file, sha256, size, duplicates, reports) -> None:
    for t in targets:
        if t.table.name in duplicates:
            message = duplicates[t.table.name]
            ledger.record(con, t.table.name, file, sha256, size, ledger.DUPLICATE, message)
            reports[t.table.name] = FileReport(file, ledger.DUPLICATE, message=message)


def _load_table(
    con: duckdb.DuckDBPyConnection,
    target: _Target,
    checked: _Checked,
    number: int,
    file: str,
    checksum: tuple[str, int],
    replaced: int | None,
) -> FileReport:
    """Insert one table's checked rows of the file; `replaced` = the earlier rows deleted (a changed file)."""
    (sha256, size), table, prior = checksum, target.table, target.prior
    staged = checked.staged.of_file(number)
    problem = _file_problem(table, file, staged)
    if problem:
        _record_rejection(con, target, file, sha256, size, problem)
        return FileReport(file, ledger.REJECTED, message=problem)

    new_columns = []
    if staged.extras:
        existing = {c.lower() for c in table_columns(con, table.name)}
        new_columns = [n for n in staged.extras if n.lower() not in existing]
        add_text_columns(con, table.name, new_columns)
    accepted_sql, quarantine_sql = insert_sql(table, staged)
    accepted, quarantined = checked.counts.get(number, (0, 0))
    con.execute(accepted_sql, [file, number])
    con.execute(quarantine_sql, [table.name, file, number])

    notes = []
    if new_columns:
        notes.append(f"new columns added as text: {', '.join(new_columns)}")
    status = ledger.LOADED
    if replaced is not None:
        status = ledger.CHANGED
        notes.insert(
            0,
            f"{file}: content changed after it was loaded at {prior.loaded_at} "
            f"(sha256 {prior.sha256[:12]} -> {sha256[:12]}); its {replaced} earlier rows were replaced",
        )
    message = "; ".join(notes)
    rows = (accepted + quarantined, accepted, quarantined)
    ledger.record(con, table.name, file, sha256, size, status, message or None, rows)
    return FileReport(file, status, *rows, message=message, new_columns=new_columns)


def drop_temp_tables(con: duckdb.DuckDBPyConnection, tables: list[RawTable]) -> None:
    """Free the last batch's working tables (each batch replaces them, so this runs once per family)."""
    for name in (*STAGING_TABLES, *(checked_table(t) for t in tables)):
        con.execute(f"drop table if exists {name}")


def _remove_rows(con: duckdb.DuckDBPyConnection, table: RawTable, file: str) -> int:
    """Delete what an earlier load of `file` wrote (rows and quarantine); returns the rows deleted."""
    con.execute("delete from raw._quarantine where table_name = ? and file = ?", [table.name, file])
    return con.execute(f"delete from {raw_table(table.name)} where _file = ?", [file]).fetchall()[0][0]


def _short(text: str, width: int = 300) -> str:
    """An error text fit for the ledger and the run log: a reader's error quotes the offending line whole."""
    return "\n".join(line if len(line) <= width else line[:width] + "..." for line in text.splitlines())


def _file_problem(table: RawTable, file: str, staged: Staged) -> str | None:
    if staged.problem:
        return f"{file}: {staged.problem}"
    if staged.missing_required:
        where = "the header" if table.format == "csv" else "every record"
        names = ", ".join(staged.missing_required)
        return f"{file}: required column {names} missing from {where}; the file was not loaded"
    return None


def _record_rejection(
    con: duckdb.DuckDBPyConnection, target: _Target, file: str, sha256: str, size: int, message: str
) -> None:
    """A rejection is recorded once per content and outcome, however many runs retry it."""
    prior = target.prior
    if prior and (prior.status, prior.sha256, prior.message) == (ledger.REJECTED, sha256, message):
        return
    ledger.record(con, target.table.name, file, sha256, size, ledger.REJECTED, message)
