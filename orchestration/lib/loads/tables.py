"""The raw schema's tables: one per RawTable plus the load ledger and the quarantine, created if missing."""

from __future__ import annotations

import duckdb

from orchestration.lib.loads.sql import ident, raw_table
from orchestration.lib.raw_schema import RawTable

LINEAGE_COLUMNS = (
    ("_file", "VARCHAR"),  # path relative to the landing directory
    ("_line", "BIGINT"),  # 1-based record line in that file
    ("_loaded_at", "TIMESTAMPTZ"),
)

LEDGER_DDL = """
create table if not exists raw._load_ledger (
    table_name varchar not null,
    file varchar not null,
    sha256 varchar not null,
    size bigint not null,
    rows_in_file bigint,
    rows_accepted bigint,
    rows_quarantined bigint,
    status varchar not null,  -- loaded | rejected | skipped_duplicate_content | changed_after_load
    message varchar,
    loaded_at timestamptz not null
)"""

QUARANTINE_DDL = """
create table if not exists raw._quarantine (
    table_name varchar not null,
    file varchar not null,
    line bigint,
    column_name varchar,
    reason varchar not null,
    record varchar,
    loaded_at timestamptz not null
)"""


def ensure_raw_tables(con: duckdb.DuckDBPyConnection, table: RawTable) -> None:
    """Create schema `raw`, the bookkeeping tables and `table` (empty) so dbt sources always resolve."""
    columns = [(c.name, c.type) for c in table.columns] + list(LINEAGE_COLUMNS)
    body = ", ".join(f"{ident(name)} {type_}" for name, type_ in columns)
    con.execute("create schema if not exists raw")
    con.execute(LEDGER_DDL)
    con.execute(QUARANTINE_DDL)
    con.execute(f"create table if not exists {raw_table(table.name)} ({body})")


def table_columns(con: duckdb.DuckDBPyConnection, table_name: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'raw' and table_name = ? order by ordinal_position",
        [table_name],
    ).fetchall()
    return [r[0] for r in rows]


def add_text_columns(con: duckdb.DuckDBPyConnection, table_name: str, names: list[str]) -> None:
    """Columns new in an export become nullable VARCHAR columns (typed later in staging, if ever)."""
    for name in names:
        con.execute(f"alter table {raw_table(table_name)} add column if not exists {ident(name)} varchar")
