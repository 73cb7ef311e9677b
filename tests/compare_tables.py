"""Row-for-row comparison of one table in two DuckDB files: same columns and types, same rows as a multiset,
floating-point values equal within a relative tolerance. Rows are matched by sorting on every column,
non-float columns first, so float noise in the last digits never changes which rows are paired."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


def columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(name, str(kind)) for name, kind in zip(*_describe(con, relation), strict=True)]


def _describe(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], list[str]]:
    rel = con.sql(f"select * from {relation}")
    return rel.columns, [str(t) for t in rel.types]


def differences(
    expected_db: str, actual_db: str, relation: str, ignore: set[str], rel_tol: float = 1e-9
) -> list[str]:
    """What differs between `relation` in the two files (empty when they are equal)."""
    with duckdb.connect(expected_db, read_only=True) as e, duckdb.connect(actual_db, read_only=True) as a:
        want_cols = [c for c in columns(e, relation) if c[0] not in ignore]
        got_cols = [c for c in columns(a, relation) if c[0] not in ignore]
        if want_cols != got_cols:
            return [f"{relation}: columns {got_cols} != {want_cols}"]
        floats = [n for n, t in want_cols if t in FLOAT_TYPES]
        keys = [n for n, t in want_cols if t not in FLOAT_TYPES] + floats
        select = ", ".join(f'"{n}"' for n, _ in want_cols)
        order = ", ".join(f'"{n}" nulls first' for n in keys)
        want = e.sql(f"select {select} from {relation} order by {order}").df()
        got = a.sql(f"select {select} from {relation} order by {order}").df()
    if len(want) != len(got):
        return [f"{relation}: {len(got)} rows, expected {len(want)}"]
    problems = []
    for name, _ in want_cols:
        w, g = want[name], got[name]
        if name in floats:
            wv, gv = w.to_numpy(dtype=float), g.to_numpy(dtype=float)
            same = np.isclose(gv, wv, rtol=rel_tol, atol=0.0) | (np.isnan(wv) & np.isnan(gv))
        else:
            same = (w.isna() & g.isna()) | (w == g).fillna(False).to_numpy()
            same = np.asarray(same, dtype=bool)
        if not same.all():
            row = int(np.argmin(same))
            problems.append(
                f"{relation}.{name}: {int((~same).sum())} of {len(same)} rows differ, "
                f"e.g. row {row}: {g.iloc[row]!r} != expected {w.iloc[row]!r}"
            )
    return problems


def frame(db: str, sql: str) -> pd.DataFrame:
    with duckdb.connect(db, read_only=True) as con:
        return con.sql(sql).df()
