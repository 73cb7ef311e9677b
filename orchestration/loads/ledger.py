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


def latest(con: duckdb.DuckDBPyConnection, table_name: str, file: str) -> LedgerEntry | None:
    """The last thing recorded for this path (its current state)."""
    row = con.execute(
        "select file, sha256, status, message, loaded_at from raw._load_ledger "
        "where table_name = ? and file = ? order by loaded_at desc limit 1",
        [table_name, file],
    ).fetchall()
    return LedgerEntry(*row[0]) if row else None


def holder_of_content(con: duckdb.DuckDBPyConnection, table_name: str, sha256: str, file: str) -> str | None:
    """Another path whose rows, loaded from exactly these bytes, are in the table."""
    row = con.execute(
        """select file from (
            select file, sha256, status, row_number() over (partition by file order by loaded_at desc) as nth
            from raw._load_ledger where table_name = ?
        ) where nth = 1 and sha256 = ? and file <> ? and status in (?, ?) order by file limit 1""",
        [table_name, sha256, file, *HOLDS_ROWS],
    ).fetchall()
    return row[0][0] if row else None


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
