"""Compare every table in the `marts` schema of two DuckDB warehouses, row for row.

Proof that a refactor left the marts unchanged: build the same landing data twice (before and after the
change) and run

    .venv/bin/python -m bench.compare_builds BEFORE.duckdb AFTER.duckdb

For each table: the same column names in the same order with the same types, and the same multiset of rows
(`EXCEPT ALL` both ways, so duplicates count): SAME. Columns that differ from one build to the next by design
are left out and named in the output: `_processed_through` (the raw `_loaded_at` watermark of the incremental
facts: the load time of the build, DECISIONS.md, Incremental processing) and any `_loaded_at`.

A table that is not SAME is looked at once more: rows paired in sorted order, every non-double column equal
and every double equal within a relative 1e-9 is FLOAT (the last bits of a sum of doubles, which depend on
the order DuckDB's threads add the rows in: the build runs 2 threads with preserve_insertion_order off, so two
builds of the same commit can differ there too; a difference of two such sums, equity_change, magnifies the
relative gap); anything else is DIFF. Exits 1 on DIFF or a table missing on
one side, and on FLOAT too unless --float-tolerance is given.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

# Load-time bookkeeping: different in every build of the same data.
RUN_DEPENDENT_COLUMNS = ("_processed_through", "_loaded_at")
RELATIVE_TOLERANCE = 1e-9


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


def _float_only(
    con: duckdb.DuckDBPyConnection, name: str, columns: list[tuple[str, str]]
) -> tuple[bool, float]:
    """Whether the tables match once doubles may differ by RELATIVE_TOLERANCE; the largest relative gap."""
    exact = [f'"{c}"' for c, kind in columns if kind != "DOUBLE"]
    doubles = [f'"{c}"' for c, kind in columns if kind == "DOUBLE"]
    if not doubles:
        return False, 0.0
    order = ", ".join(exact + doubles)
    numbered = "select *, row_number() over (order by {order}) as _pair from {db}.marts.{name}"
    gaps = [
        f"abs(b.{c} - a.{c}) / greatest(abs(b.{c}), abs(a.{c}), 1e-300)" for c in doubles
    ]  # null when either side is null
    mismatch = " or ".join(
        [f"b.{c} is distinct from a.{c}" for c in exact]
        + [f"(b.{c} is null) <> (a.{c} is null)" for c in doubles]
        + [f"coalesce({gap}, 0) > {RELATIVE_TOLERANCE}" for gap in gaps]
    )
    largest = "greatest(" + ", ".join(f"coalesce({gap}, 0)" for gap in gaps) + ", 0)"
    bad, worst = con.execute(
        f"select count(*) filter (where {mismatch}), max({largest})"
        f" from ({numbered.format(order=order, db='before_db', name=name)}) as b"
        f" full join ({numbered.format(order=order, db='after_db', name=name)}) as a on b._pair = a._pair"
    ).fetchone()
    return bad == 0, worst or 0.0


def compare(before_path: str, after_path: str) -> list[str]:
    """One line per table, starting with SAME, FLOAT, DIFF or MISSING."""
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
        kept = [(column, kind) for column, kind in columns if column not in RUN_DEPENDENT_COLUMNS]
        excluded = [column for column, _ in columns if column in RUN_DEPENDENT_COLUMNS]
        select = ", ".join(f'"{column}"' for column, _ in kept)
        counts = []
        for left, right in (("before_db", "after_db"), ("after_db", "before_db")):
            counts.append(
                con.execute(
                    f"select count(*) from (select {select} from {left}.marts.{name}"
                    f" except all select {select} from {right}.marts.{name})"
                ).fetchone()[0]
            )
        rows = con.execute(f"select count(*) from before_db.marts.{name}").fetchone()[0]
        status, detail = "SAME", ""
        if any(counts):
            float_only, worst = _float_only(con, name, kept)
            status = "FLOAT" if float_only else "DIFF"
            detail = f"; doubles within {RELATIVE_TOLERANCE:g} relative: {float_only} (largest {worst:.2g})"
        note = f" (excluded: {', '.join(excluded)})" if excluded else ""
        lines.append(
            f"{status} {name}: {rows} rows, {len(kept)} columns compared,"
            f" {counts[0]} only before, {counts[1]} only after{detail}{note}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="DuckDB file built before the change")
    parser.add_argument("after", help="DuckDB file built after the change")
    parser.add_argument(
        "--float-tolerance",
        action="store_true",
        help="pass tables that differ only in the last bits of doubles",
    )
    args = parser.parse_args(argv)
    lines = compare(args.before, args.after)
    print("\n".join(lines))
    failing = ("DIFF", "MISSING") if args.float_tolerance else ("DIFF", "MISSING", "FLOAT")
    return 1 if any(line.startswith(failing) for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
