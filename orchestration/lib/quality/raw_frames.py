"""Batches of the raw layer: the files a load added that a suite has not passed yet.

A file (by path and content hash) stays *pending* for a suite until every critical expectation of that
suite passed on it; `quality.validated_files` remembers which passed. So a bad file keeps blocking
every later run until it is fixed (a corrected re-export replaces its rows, new hash) or removed, and a
run with nothing new validates nothing. Row-level checks run in pandas on the new rows only, at most
MAX_BATCH_ROWS at a time; volume and completeness come from small per-file aggregates computed in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from orchestration.lib.quality.gx_checks import Batch
from orchestration.lib.quality.suites import (
    FILLED_BEFORE_SHARE,
    MAX_VALIDATED_ROWS,
    MIN_EXPECTED_FILLED,
    MIN_RECENT_ROWS,
    MIN_ROWS_FOR_SHARES,
    RECENT_FILES,
    VOLUME_EXEMPT_TABLES,
    record_key,
)
from orchestration.lib.raw_schema import RawTable, export_period_days

HOLDS_ROWS = ("loaded", "changed_after_load")

VALIDATED_DDL = """
create schema if not exists quality;
create table if not exists quality.validated_files (
    suite_name varchar not null,
    table_name varchar not null,
    file varchar not null,
    sha256 varchar not null,
    validated_at timestamptz not null
)"""

# Current state of every file of a table: its latest ledger entry.
CURRENT_FILES = """
select file, sha256, status, message, rows_in_file, rows_accepted, rows_quarantined
from (
    select *, row_number() over (partition by file order by loaded_at desc) as nth
    from raw._load_ledger where table_name = $table
) where nth = 1 order by file"""


def _has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = '_load_ledger'"
        ).fetchone()[0]
    )


def current_files(con: duckdb.DuckDBPyConnection, table_name: str) -> pd.DataFrame:
    if not _has_ledger(con):
        return pd.DataFrame(columns=["file", "sha256", "status", "rows_in_file"])
    return con.execute(CURRENT_FILES, {"table": table_name}).df()


def pending_files(
    con: duckdb.DuckDBPyConnection, suite_name: str, table_name: str, everything: bool = False
) -> pd.DataFrame:
    """Files whose current content has not passed `suite_name` (rejected files included); every file with
    `everything` (the weekly whole-table run)."""
    con.execute(VALIDATED_DDL)
    if not _has_ledger(con):
        return pd.DataFrame(columns=["file", "sha256", "status", "rows_in_file"])
    # One query (an anti-join in DuckDB): a run with nothing new pays milliseconds per suite.
    return con.execute(
        f"""select * from ({CURRENT_FILES}) as f
        where status in ('loaded', 'changed_after_load', 'rejected')
          and ($everything or not exists (
            select 1 from quality.validated_files v
            where v.suite_name = $suite and v.table_name = $table and v.file = f.file and v.sha256 = f.sha256
          ))
        order by file""",
        {"table": table_name, "suite": suite_name, "everything": everything},
    ).df()


def mark_validated(
    con: duckdb.DuckDBPyConnection, suite_name: str, table_name: str, files: pd.DataFrame
) -> None:
    if files.empty:
        return
    con.execute(VALIDATED_DDL)
    rows = files[["file", "sha256"]].assign(suite_name=suite_name, table_name=table_name)
    con.register("_q_validated", rows)
    try:
        con.execute(
            "insert into quality.validated_files "
            "select suite_name, table_name, file, sha256, now() from _q_validated q where not exists ("
            "select 1 from quality.validated_files v where (v.suite_name, v.table_name, v.file, v.sha256) "
            "= (q.suite_name, q.table_name, q.file, q.sha256))"
        )
    finally:
        con.unregister("_q_validated")


def _label(table: RawTable, files: pd.DataFrame) -> str:
    names = files["file"].tolist()
    span = names[0] if len(names) == 1 else f"{names[0]} .. {names[-1]} ({len(names)} files)"
    return f"raw.{table.name} {span}"


@dataclass(frozen=True)
class RawRows:
    """The rows pending files added to `raw.<table>` (a uniform sample beyond `max_rows`), validated
    against suite `raw_<table>`."""

    table: RawTable
    max_rows: int = MAX_VALIDATED_ROWS

    @property
    def suite_name(self) -> str:
        return f"raw_{self.table.name}"

    def batches(self, con: duckdb.DuckDBPyConnection, everything: bool = False) -> list[Batch]:
        pending = pending_files(con, self.suite_name, self.table.name, everything)
        pending = pending[pending["status"].isin(HOLDS_ROWS)]
        if self.table.optional_rows:  # a file that added no rows to an optional table has nothing to check
            pending = pending[pending["rows_accepted"].fillna(0) > 0]
        if pending.empty:
            return []
        rows = f'select * from raw."{self.table.name}" where _file in (select unnest($files))'
        total = int(pending["rows_accepted"].fillna(0).sum())
        label = _label(self.table, pending)
        if total > self.max_rows:
            rows = f"select * from ({rows}) using sample reservoir({self.max_rows} rows) repeatable (7)"
            label += f" (sample of {self.max_rows:,} of {total:,} rows)"
        frame = con.execute(rows, {"files": pending["file"].tolist()}).df()
        return [Batch(label, frame, ("_file", "_line"), payload=pending)]

    def accept(self, con: duckdb.DuckDBPyConnection, batches: list[Batch]) -> None:
        for b in batches:
            mark_validated(con, self.suite_name, self.table.name, b.payload)


def file_profiles(
    con: duckdb.DuckDBPyConnection, table: RawTable, files: list[str] | None = None
) -> pd.DataFrame:
    """Per file in `raw.<table>` (only `files` when given): its rows, the non-null count of every documented
    column, and the rows that repeat a record of the same file (both copies counted, like GX's uniqueness
    expectations)."""
    counts = ", ".join(f'count("{c.name}") as "{c.name}"' for c in table.columns)
    key = ", ".join(f'"{c}"' for c in record_key(table))
    rows = f'(select * from raw."{table.name}" where $all or _file in (select unnest($files)))'
    return con.execute(
        f"""with per_file as (
            select _file as file, count(*) as raw_rows, {counts} from {rows} group by _file
        ), repeats as (
            select _file as file, sum(n) as repeated_rows
            from (select _file, {key}, count(*) as n from {rows} group by all having count(*) > 1)
            group by _file
        )
        select per_file.*, coalesce(repeats.repeated_rows, 0) as repeated_rows
        from per_file left join repeats using (file)""",
        {"all": files is None, "files": files or []},
    ).df()


def profiled_files(current: pd.DataFrame, pending: pd.DataFrame) -> list[str]:
    """The files load_health_frame reads profiles of: each pending file and the RECENT_FILES before it."""
    held = sorted(current.loc[current["status"].isin(HOLDS_ROWS), "file"])
    needed = set(pending["file"])
    for file in pending["file"]:
        needed.update([h for h in held if h < file][-RECENT_FILES:])
    return sorted(needed)


def load_health_frame(
    current: pd.DataFrame,
    pending: pd.DataFrame,
    profiles: pd.DataFrame,
    quarantine: pd.DataFrame,
    table: RawTable,
) -> pd.DataFrame:
    """One row per pending file: ledger vs raw vs quarantine, quarantine share, volume per day covered
    against the RECENT_FILES files before it (by name), and the columns filled before but empty now."""
    held = current[current["status"].isin(HOLDS_ROWS)].sort_values("file").reset_index(drop=True)
    profiles = profiles.set_index("file")
    quarantine = quarantine.set_index("file")
    columns = [c.name for c in table.columns]
    rows = []
    for f in pending.itertuples(index=False):
        before = held[held["file"] < f.file].tail(RECENT_FILES)
        # Optional rows (order lines) come from the files of another table, whose volume is checked there.
        periodic = table.name not in VOLUME_EXEMPT_TABLES and not table.optional_rows
        recent = None
        if len(before) and periodic:
            per_day = (before["rows_in_file"] / before["file"].map(export_period_days)).mean()
            # Judged only when this file should hold enough rows for a ratio to mean something: a day's
            # file of ten leads after monthly files of 300 holds 1 or 20 by chance.
            if per_day * export_period_days(f.file) >= MIN_RECENT_ROWS:
                recent = per_day
        emptied = []
        if f.file in profiles.index and len(before) and before["rows_in_file"].mean() >= MIN_RECENT_ROWS:
            prior = profiles.reindex(before["file"]).dropna(how="all")
            prior_rows = prior["raw_rows"].sum()
            now = profiles.loc[f.file]
            for c in columns:
                share = prior[c].sum() / prior_rows if prior_rows else 0
                if (
                    share >= FILLED_BEFORE_SHARE
                    and now["raw_rows"] * share >= MIN_EXPECTED_FILLED
                    and now[c] == 0
                ):
                    emptied.append(c)
        in_file = f.rows_in_file if pd.notna(f.rows_in_file) else None
        rows.append(
            {
                "file": f.file,
                "status": f.status,
                "message": f.message,
                "rows_in_file": in_file,
                "quarantined_share": (
                    (f.rows_quarantined / in_file) if in_file and in_file >= MIN_ROWS_FOR_SHARES else None
                ),
                "ledger_vs_raw_rows": (
                    abs(f.rows_accepted - (profiles["raw_rows"].get(f.file, 0)))
                    if in_file is not None
                    else None
                ),
                "ledger_vs_quarantine_rows": (
                    abs(f.rows_quarantined - quarantine["rows"].get(f.file, 0))
                    if in_file is not None
                    else None
                ),
                "rows_vs_recent": (
                    (in_file / export_period_days(f.file)) / recent
                    if (in_file is not None and recent)
                    else None
                ),
                "top_quarantine_reason": quarantine["top_reason"].get(f.file, "") if len(quarantine) else "",
                "repeated_row_share": (
                    profiles["repeated_rows"].get(f.file, 0) / profiles["raw_rows"].get(f.file, 1)
                    if f.file in profiles.index and (in_file or 0) >= MIN_ROWS_FOR_SHARES
                    else None
                ),
                "emptied_columns": ", ".join(emptied),
                "emptied_column_count": len(emptied),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "file",
            "status",
            "message",
            "rows_in_file",
            "quarantined_share",
            "ledger_vs_raw_rows",
            "ledger_vs_quarantine_rows",
            "rows_vs_recent",
            "top_quarantine_reason",
            "repeated_row_share",
            "emptied_columns",
            "emptied_column_count",
        ],
    ).astype(
        {
            "quarantined_share": "float64",
            "rows_vs_recent": "float64",
            "repeated_row_share": "float64",
            "ledger_vs_raw_rows": "float64",
            "ledger_vs_quarantine_rows": "float64",
        }
    )


@dataclass(frozen=True)
class RawLoadHealth:
    """Pending files of one raw table, one row each, validated against suite `raw_load_health`."""

    table: RawTable
    suite_name: str = "raw_load_health"

    def batches(self, con: duckdb.DuckDBPyConnection, everything: bool = False) -> list[Batch]:
        pending = pending_files(con, self.suite_name, self.table.name, everything)
        if pending.empty:
            return []
        current = current_files(con, self.table.name)
        quarantine = con.execute(
            """select file, count(*) as rows,
                mode(coalesce(column_name || ': ', '') || regexp_replace(reason, '^''.*'' ', ''))
                    as top_reason
            from raw._quarantine where table_name = ? and file in (select unnest(?)) group by file""",
            [self.table.name, pending["file"].tolist()],
        ).df()
        profiles = file_profiles(con, self.table, profiled_files(current, pending))
        frame = load_health_frame(current, pending, profiles, quarantine, self.table)
        label = _label(self.table, pending) + " load"
        index = ("file", "rows_in_file", "top_quarantine_reason", "emptied_columns", "message")
        return [Batch(label, frame, index, payload=pending, unit="files")]

    def accept(self, con: duckdb.DuckDBPyConnection, batches: list[Batch]) -> None:
        for b in batches:
            mark_validated(con, self.suite_name, self.table.name, b.payload)
