"""Type and check the staged text in one SQL pass: `_rw_checked_<table>` has typed values and, per failed row,
the first failing column and a reason a person can act on."""

from __future__ import annotations

import duckdb

from orchestration.lib.loads.read import Staged
from orchestration.lib.loads.sql import ident, literal
from orchestration.lib.raw_schema import Column, RawTable


def checked_table(table: RawTable) -> str:
    """The working table of one raw table's checked rows (orders and their lines are checked together)."""
    return ident("_rw_checked_" + table.name)


_TYPE_WORDS = {
    "BIGINT": "whole number",
    "DOUBLE": "number",
    "BOOLEAN": "boolean (true/false)",
    "TIMESTAMPTZ": "ISO-8601 timestamp",
    "DATE": "ISO-8601 date (YYYY-MM-DD)",
}


def typed(column: Column, raw: str) -> str:
    """SQL for the value of `raw` (text) as the column's type; null when it does not parse."""
    if column.type == "VARCHAR":
        return raw
    if column.type == "BIGINT":  # '2.5' must not round to 3
        whole = f"try_cast({raw} as bigint)"
        return f"case when try_cast({raw} as double) = {whole} then {whole} end"
    if column.type == "DOUBLE":
        return f"case when isfinite(try_cast({raw} as double)) then try_cast({raw} as double) end"
    # Timestamps without an offset are UTC: the load runs with TimeZone = 'UTC' (load_table).
    return f"try_cast({raw} as {column.type})"


def _shown(raw: str) -> str:
    return f"'''' || left({raw}, 80) || ''''"


def _rules(column: Column, raw: str, value: str, other_raw: str | None = None) -> list[tuple[str, str]]:
    """(failing condition, reason) pairs for one column, in the order they are reported. `other_raw` is the
    text of the column named by `required_unless`."""
    rules = []
    if column.required:
        rules.append((f"{raw} is null", "'required value is missing'"))
    if column.required_unless:
        reason = literal(
            f"required value is missing: neither {column.required_unless} nor {column.name} is given"
        )
        rules.append((f"{raw} is null and {other_raw} is null", reason))
    if column.type != "VARCHAR":
        what = literal(f" is not a valid {_TYPE_WORDS[column.type]}")
        rules.append((f"{raw} is not null and {value} is null", f"{_shown(raw)} || {what}"))
    if column.allowed:
        allowed = ", ".join(literal(v) for v in column.allowed)
        message = literal(f" is not one of: {', '.join(column.allowed)}")
        rules.append((f"{value} not in ({allowed})", f"{_shown(raw)} || {message}"))
    if column.min_value is not None:
        message = literal(f" is below the minimum {column.min_value:g}")
        rules.append((f"{value} < {column.min_value!r}", f"{_shown(raw)} || {message}"))
    if column.max_value is not None:
        message = literal(f" is above the maximum {column.max_value:g}")
        rules.append((f"{value} > {column.max_value!r}", f"{_shown(raw)} || {message}"))
    if column.type in ("TIMESTAMPTZ", "DATE"):
        now = "now()" if column.type == "TIMESTAMPTZ" else "current_date"
        rules.append((f"{value} > {now}", f"{_shown(raw)} || ' is in the future (after the load time)'"))
    return rules


def check(con: duckdb.DuckDBPyConnection, table: RawTable, staged: Staged) -> None:
    """Create the table's `checked_table`: `_rw_file`, `_line`, `_column`, `_reason` (null = accepted),
    `_record` (failed rows), the typed values `__rw_typed_<i>` in schema order, then the new-in-export
    columns as text."""
    typed_values, conditions, columns, reasons = [], [], [], []
    raws = {c.name: ident(c.name) if c.name in staged.present else "null::varchar" for c in table.columns}
    for i, column in enumerate(table.columns):
        raw = raws[column.name]
        value = f"__rw_typed_{i}"
        typed_values.append(f"{typed(column, raw)} as {value}")
        other_raw = raws[column.required_unless] if column.required_unless else None
        for condition, reason in _rules(column, raw, value, other_raw):
            conditions.append(condition)
            columns.append(column.name)
            reasons.append(reason)
    # The first failing rule's number, then its column and reason: each condition is evaluated once.
    rule = " ".join(f"when {c} then {n}" for n, c in enumerate(conditions, start=1))
    column_of_rule = "[" + ", ".join(literal(c) for c in columns) + "]"
    reason_of_rule = " ".join(f"when {n} then {r}" for n, r in enumerate(reasons, start=1))
    extras = "".join(f", {ident(name)}" for name in staged.extras)
    # Only failed rows keep their record text: accepted rows are stored once, typed, in the raw table.
    con.execute(
        f"""create or replace temp table {checked_table(table)} as
        select _rw_file, _line,
            case when _problem is not null then _problem_column else {column_of_rule}[_rule] end as _column,
            case when _problem is not null then _problem else case _rule {reason_of_rule} end end as _reason,
            case when _problem is not null or _rule is not null then {staged.record_sql} end as _record,
            {", ".join(f"__rw_typed_{i}" for i in range(len(table.columns)))}{extras}
        from (
            select *, case {rule} end as _rule
            from (select *, {", ".join(typed_values)} from ({staged.sql}))
        )"""
    )


def insert_sql(table: RawTable, staged: Staged) -> tuple[str, str]:
    """Statements moving one file's accepted rows to the raw table and its failed rows to quarantine.

    Parameters: accepted (file, its `_rw_file`), quarantine (table_name, file, its `_rw_file`)."""
    targets = [ident(c.name) for c in table.columns] + [ident(n) for n in staged.extras]
    sources = [f"__rw_typed_{i}" for i in range(len(table.columns))] + [ident(n) for n in staged.extras]
    accepted = (
        f"insert into raw.{ident(table.name)} ({', '.join(targets)}, _file, _line, _loaded_at) "
        f"select {', '.join(sources)}, ?, _line, now() from {checked_table(table)} "
        "where _reason is null and _rw_file = ?"
    )
    quarantined = (
        "insert into raw._quarantine (table_name, file, line, column_name, reason, record, loaded_at) "
        f"select ?, ?, _line, _column, _reason, _record, now() from {checked_table(table)} "
        "where _reason is not null and _rw_file = ?"
    )
    return accepted, quarantined
