"""`raw._load_ledger`: what happened to every landing file, the memory that makes loads idempotent."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

LOADED = "loaded"
REJECTED = "rejected"
DUPLICATE = "skipped_duplicate_content"
CHANGED = "changed_after_load"
HOLDS_ROWS = (LOADED, CHANGED)  # statuses whose file's rows are in the raw table


@dataclass(frozen=True)
class LedgerEntry:
    file: str
    sha256: str
    status: str
    message: str | None
    loaded_at: object


class TableLedger:
    """The current entry of every file of one table, read once per load instead of twice per file."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table_name: str) -> None:
        rows = con.execute(
            "select file, sha256, status, message, loaded_at from raw._load_ledger where table_name = ? "
            "qualify row_number() over (partition by file order by loaded_at desc) = 1",
            [table_name],
        ).fetchall()
        self.table_name = table_name
        self.entries = {row[0]: LedgerEntry(*row) for row in rows}

    def latest(self, file: str) -> LedgerEntry | None:
        """The last thing recorded for this path (its current state)."""
        return self.entries.get(file)

    def holder_of_content(self, sha256: str, file: str) -> str | None:
        """Another path whose rows, loaded from exactly these bytes, are in the table."""
        holders = (
            e.file
            for e in self.entries.values()
            if e.sha256 == sha256 and e.file != file and e.status in HOLDS_ROWS
        )
        return min(holders, default=None)

    def note(self, entry: LedgerEntry) -> None:
        """What a committed file load recorded, for the files after it in the same load."""
        self.entries[entry.file] = entry


def record(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    file: str,
    sha256: str,
    size: int,
    status: str,
    message: str | None,
    rows: tuple[int | None, int | None, int | None] = (None, None, None),
) -> None:
    """One ledger row; `rows` = (in file, accepted, quarantined). Runs inside the file's transaction."""
    con.execute(
        "insert into raw._load_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [table_name, file, sha256, size, *rows, status, message],
    )
