"""Compare every table in the `marts` schema of two DuckDB warehouses, row for row.

Proof that a refactor left the marts unchanged: build the same landing data twice (before and after the
change) and run

    .venv/bin/python -m bench.compare_builds BEFORE.duckdb AFTER.duckdb

For each table: the same column names in the same order with the same types, and the same multiset of rows
(`EXCEPT ALL` both ways, so duplicates count). Columns that differ from one build to the next by design are
left out and named in the output: `_processed_through` (the raw `_loaded_at` watermark of the incremental
facts: the load time of the build, DECISIONS.md, Incremental processing) and any `_loaded_at`. Exits 1 when
any table differs or is missing on one side.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

# Load-time bookkeeping: different in every build of the same data.
RUN_DEPENDENT_COLUMNS = ("_processed_through", "_loaded_at")


def _columns(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_catalog = ? and table_schema = 'marts' and table_name = ? order by ordinal_position",
        [db, table],
    ).fetchall()


def _tables(con: duckdb.DuckDBPyConnection, db: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog = ? and table_schema = 'marts'",
        [db],
    ).fetchall()
    return {name for (name,) in rows}


def compare(before_path: str, after_path: str) -> list[str]:
    """One line per table; a line starting with DIFF or MISSING is a failure."""
    con = duckdb.connect()
    con.execute(f"attach '{before_path}' as before_db (read_only)")
    con.execute(f"attach '{after_path}' as after_db (read_only)")
    before, after = _tables(con, "before_db"), _tables(con, "after_db")
    lines = [
        f"MISSING {name}: only in {'before' if name in before else 'after'}"
        for name in sorted(before ^ after)
    ]
    for name in sorted(before & after):
        columns = _columns(con, "before_db", name)
        if columns != _columns(con, "after_db", name):
            lines.append(f"DIFF {name}: columns {columns} != {_columns(con, 'after_db', name)}")
            continue
        kept = [column for column, _ in columns if column not in RUN_DEPENDENT_COLUMNS]
        excluded = [column for column, _ in columns if column in RUN_DEPENDENT_COLUMNS]
        select = ", ".join(f'"{column}"' for column in kept)
        counts = []
        for left, right in (("before_db", "after_db"), ("after_db", "before_db")):
            counts.append(
                con.execute(
                    f"select count(*) from (select {select} from {left}.marts.{name}"
                    f" except all select {select} from {right}.marts.{name})"
                ).fetchone()[0]
            )
        rows = con.execute(f"select count(*) from before_db.marts.{name}").fetchone()[0]
        status = "DIFF" if any(counts) else "SAME"
        note = f" (excluded: {', '.join(excluded)})" if excluded else ""
        lines.append(
            f"{status} {name}: {rows} rows, {len(kept)} columns compared,"
            f" {counts[0]} only before, {counts[1]} only after{note}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="DuckDB file built before the change")
    parser.add_argument("after", help="DuckDB file built after the change")
    args = parser.parse_args(argv)
    lines = compare(args.before, args.after)
    print("\n".join(lines))
    return 1 if any(line.startswith(("DIFF", "MISSING")) for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
