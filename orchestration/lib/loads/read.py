"""Read one landing file as text: `Staged.sql` selects one row per record, every value as VARCHAR.

Nothing is typed or judged here except the file's structure: a CSV line with the wrong number of fields
or an unbalanced quote, and a JSON line that does not parse, become rows with `_problem` set (and their
line number), so validation can quarantine them with everything else. Staged columns: `_line`,
`_record` (the line's text where it is at hand), `_problem`, `_problem_column`, then one VARCHAR column
per table column found in the file and per column new in the export.

Both formats are read by DuckDB's CSV reader with `store_rejects`: CSV with the fixed RFC 4180 dialect
(`,` `"`), JSON lines as one text field per line (a field separator that cannot occur in valid JSON and
no quoting; one read of a JSON lines file stages every table it feeds). The reader drops rejected
records from its output and keeps order, so the line of an accepted record is recovered from its ordinal
and the lines taken by rejected records and, in CSV, blank lines (`_number_lines`). Line numbers are the
file's (the header is line 1), except that the CSV reader counts a quoted value spanning lines as one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.lib.loads.files import csv_header
from orchestration.lib.loads.sql import ident, literal
from orchestration.lib.loads.tables import LINEAGE_COLUMNS
from orchestration.lib.raw_schema import RAW_TABLES, Column, RawTable

# A blank line is not a record; trim() only where the line starts with white space (trim is slow).
_BLANK = (
    "case when line is null then true when line[1] in (' ', chr(9), chr(13)) then trim(line) = '' "
    "else false end"
)
JSON_LINE_SEPARATOR = "\x1e"  # a control character: never unescaped inside valid JSON
# The blank-line scan has no rejects table: a line over its limit would fail the whole file. The record
# reader quarantines lines over its 2 MB default instead, so the scan only needs to get past them.
BLANK_SCAN_MAX_LINE = 1 << 26  # 64 MiB

_REJECT_REASONS = """case error_type
    when 'MISSING COLUMNS' then 'wrong number of fields (' || error_message || ')'
    when 'TOO MANY COLUMNS' then 'wrong number of fields (' || error_message || ')'
    when 'UNQUOTED VALUE' then 'unbalanced or misplaced quote (the record runs to the next quote): '
        || error_message
    when 'INVALID ENCODING' then 'not valid UTF-8 text'
    when 'INVALID UNICODE' then 'not valid UTF-8 text'
    when 'LINE SIZE OVER MAXIMUM' then 'line longer than the reader''s maximum line size'
    else lower(error_type) || ': ' || error_message end"""


@dataclass
class Staged:
    present: list[str] = field(default_factory=list)  # schema columns staged (others are null)
    extras: list[str] = field(default_factory=list)  # columns not in the schema, staged as text
    missing_required: list[str] = field(default_factory=list)
    problem: str | None = None  # the whole file cannot be read as this table
    record_sql: str = "_record"  # how to show a record in quarantine
    sql: str = ""  # the staged rows (a SELECT), read once by validation


def stage(con: duckdb.DuckDBPyConnection, path: Path, tables: list[RawTable]) -> dict[str, Staged]:
    """Stage every table loaded from `path` (one per CSV file; a JSON lines file may feed several)."""
    if tables[0].format == "csv":
        [table] = tables
        return {table.name: stage_csv(con, path, table)}
    return stage_jsonl(con, path, tables)


def _read_with_rejects(con: duckdb.DuckDBPyConnection, path: Path, options: str) -> None:
    """`_rw_parsed` (accepted records in file order) and `_rw_bad` (one row per rejected line)."""
    con.execute("drop table if exists _rw_rejects")
    con.execute("drop table if exists _rw_reject_scans")
    con.execute(
        "create or replace temp table _rw_parsed as select * from read_csv(?, auto_detect = false, "
        "store_rejects = true, rejects_table = '_rw_rejects', rejects_scan = '_rw_reject_scans', "
        f"compression = 'auto', strict_mode = true, {options})",
        [str(path)],
    )
    con.execute(
        f"""create or replace temp table _rw_bad as
        select line,
            first(column_name order by column_idx) as column_name,
            first({_REJECT_REASONS} order by column_idx) as reason,
            first(trim(csv_line, chr(10) || chr(13)) order by column_idx) as record
        from _rw_rejects group by line"""
    )


def _number_lines(
    con: duckdb.DuckDBPyConnection, first_line: int, taken: str = "select line from _rw_bad"
) -> str:
    """`_rw_parsed` with `_line`: the k-th accepted record takes the k-th line number that no rejected
    record (or blank line, `taken`) took."""
    con.execute(f"create or replace temp table _rw_taken as select distinct line from ({taken})")
    if not con.execute("select count(*) from _rw_taken").fetchall()[0][0]:  # the usual case, and cheaper
        return f"(select *, row_number() over (order by rowid) + {first_line - 1} as _line from _rw_parsed)"
    return f"""(
        with accepted as (select row_number() over (order by rowid) as k, * from _rw_parsed),
        rejected as (
            select line - {first_line} - (row_number() over (order by line) - 1) as accepted_before,
                row_number() over (order by line) as n
            from _rw_taken where line >= {first_line}
        ),
        gaps as (select accepted_before, max(n) as n from rejected group by accepted_before)
        select accepted.* exclude (k), accepted.k + {first_line - 1} + coalesce(gaps.n, 0) as _line
        from accepted asof left join gaps on accepted.k > gaps.accepted_before
    )"""


# ---------------------------------------------------------------------------------------------------- CSV
def _blank_lines(path: Path) -> str:
    """Blank lines of a CSV file: the CSV reader skips them but counts them in its line numbers. Read as
    Latin-1 lines, which any bytes are, in one ordered thread so row_number() is the line number."""
    return (
        "select line from (select row_number() over () as line, text from read_csv("
        f"{literal(str(path))}, header = false, columns = {{'text': 'VARCHAR'}}, auto_detect = false, "
        f"delim = {literal(JSON_LINE_SEPARATOR * 2 + chr(31) * 2)}, quote = '', escape = '', "
        "encoding = 'latin-1', compression = 'auto', parallel = false, "
        f"max_line_size = {BLANK_SCAN_MAX_LINE})) "
        "where text is null or trim(text) = ''"
    )


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, table: RawTable) -> Staged:
    header = csv_header(path)
    if header is None:
        return Staged(problem="the file is empty: it has no header line")
    by_lower = {c.name.lower(): c.name for c in table.columns}
    reserved = {name for name, _ in LINEAGE_COLUMNS}
    names: list[str] = []
    for position, cell in enumerate(header, start=1):
        name = by_lower.get(cell.lower(), cell or f"column_{position}")
        if name.lower() in {n.lower() for n in names}:
            return Staged(problem=f"column {name!r} appears twice in the header")
        if name in reserved:
            return Staged(problem=f"column {name!r} in the header is reserved for load bookkeeping")
        names.append(name)
    staged = Staged(
        present=[c.name for c in table.columns if c.name in names],
        extras=[n for n in names if n.lower() not in by_lower],
        missing_required=[c.name for c in table.columns if c.required and c.name not in names],
    )
    if staged.missing_required:
        return staged

    positional = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names)))
    _read_with_rejects(
        con, path, f"header = true, columns = {{{positional}}}, delim = ',', quote = '\"', escape = '\"'"
    )
    values = ", ".join(f"c{i} as {ident(name)}" for i, name in enumerate(names))
    column_of_reject = " ".join(f"when 'c{i}' then {literal(name)}" for i, name in enumerate(names))
    taken = f"select line from _rw_bad union all {_blank_lines(path)}"
    staged.sql = f"""
        select _line, null::varchar as _record, null::varchar as _problem,
            null::varchar as _problem_column, {values}
        from {_number_lines(con, first_line=2, taken=taken)}
        union all by name
        select line as _line, record as _record, reason as _problem,
            case column_name {column_of_reject} end as _problem_column
        from _rw_bad"""
    # Accepted records keep no copy of their text; quarantine shows them as header -> value JSON.
    pairs = ", ".join(f"{literal(name)}, {ident(name)}" for name in names)
    staged.record_sql = f"coalesce(_record, json_object({pairs})::varchar)"
    return staged


# ---------------------------------------------------------------------------------------------- JSON lines
# A JSON line is parsed twice whatever the number of tables it feeds (orders feed shop_orders and
# shop_order_lines): once into a struct of every known field as text (`_rw_lines._v`: validity, values,
# the nested array) and once for the distinct keys (new fields). Parsing a whole line costs about as much
# as reading it, so each table's rows come from `_rw_lines` and never parse the line again.
def _json_path(key: str) -> str:
    return literal('$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')


def _field_path(column: Column) -> list[str]:
    return (column.json_path or column.name).split(".")


def _top_keys(columns: Iterable[Column]) -> set[str]:
    return {_field_path(c)[0] for c in columns}


def _structure(paths: Iterable[list[str]], arrays: Iterable[str] = ()) -> str:
    """from_json's structure: paths as VARCHAR (a nested value comes as its JSON text), arrays as JSON."""
    tree: dict = {}
    for path in paths:
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node.setdefault(path[-1], "VARCHAR")
    tree.update({a: "JSON" for a in arrays})
    return literal(json.dumps(tree))


def _field(struct: str, path: list[str]) -> str:
    return struct + "".join(f"[{literal(part)}]" for part in path)


def _sibling_unnest_keys(table: RawTable) -> set[str]:
    """Arrays in this file family that other tables load (orders' line_items): not new columns."""
    return {
        t.unnest
        for t in RAW_TABLES
        if t.unnest and t.source == table.source and t.file_family == table.file_family
    }


def _parsed(text: str, structure: str, source: str) -> str:
    """`source` (with JSON text `text`) plus `_v`, every known field as text, and `_problem`: a value that
    does not parse or is no object is not a record. One parse: a valid value is an object exactly when it
    starts with {."""
    chars, white = f"cast({text} as varchar)", "' ' || chr(9) || chr(13)"
    trimmed = (
        f"case when left({chars}, 1) in (' ', chr(9), chr(13)) then ltrim({chars}, {white}) else {chars} end"
    )
    first = f"left({trimmed}, 1)"
    return f"""select *, case
            when _v is null then case when json_valid({text}) then 'not a JSON object'
                else 'not valid JSON (a truncated or malformed line)' end
            when {first} <> '{{' then 'not a JSON object'
        end as _problem
        from (select *, try(from_json({text}, {structure})) as _v from ({source}))"""


def _read_json_lines(con: duckdb.DuckDBPyConnection, path: Path, structure: str) -> None:
    """`_rw_lines`: every non-blank line with its number, known fields and problem (see `_parsed`)."""
    _read_with_rejects(
        con,
        path,
        f"header = false, columns = {{'line': 'VARCHAR'}}, delim = {literal(JSON_LINE_SEPARATOR)}, "
        "quote = '', escape = ''",
    )
    con.execute(
        f"""create or replace temp table _rw_lines as
        {_parsed("line", structure, f"select * from {_number_lines(con, first_line=1)} where not {_BLANK}")}
        union all by name
        select line as _line, record as line, reason as _problem from _rw_bad"""
    )


def _keys(con: duckdb.DuckDBPyConnection, rows: str, text: str) -> tuple[set[str], bool]:
    """Distinct keys of the records of `rows` (JSON text `text`, `_problem` null), and whether any."""
    has_objects, keys = con.execute(
        f"""select (select count(*) > 0 from {rows} where _problem is null),
            (select coalesce(list(distinct k), []) from (
                select unnest(json_keys({text})) as k from {rows} where _problem is null))"""
    ).fetchall()[0]
    return set(keys), bool(has_objects)


def stage_jsonl(con: duckdb.DuckDBPyConnection, path: Path, tables: list[RawTable]) -> dict[str, Staged]:
    """Stage every table of one JSON lines file family from a single read and parse of the file: the
    tables of the records (orders) and of an array in each record (its line_items)."""
    flat = [t for t in tables if not t.unnest]
    nested = [t for t in tables if t.unnest]
    paths = [_field_path(c) for t in flat for c in t.columns] + [[t.parent_key] for t in nested]
    _read_json_lines(con, path, _structure(paths, [t.unnest for t in nested]))
    keys, has_objects = _keys(con, "_rw_lines", "line")
    staged = {}
    for table in flat:
        known = _top_keys(table.columns) | _sibling_unnest_keys(table)
        staged[table.name] = _staged_json(table, keys, known, has_objects)
        if not staged[table.name].missing_required:
            staged[table.name].sql = _flat_sql(table, staged[table.name])
    for table in nested:
        staged[table.name] = _stage_json_items(con, table)
    return staged


def _flat_sql(table: RawTable, staged: Staged) -> str:
    values = [f"nullif({_field('_v', _field_path(c))}, '') as {ident(c.name)}" for c in table.columns]
    if staged.extras:  # fields new in the export: rare, so a third parse only where there are some
        record = "case when _problem is null then line end"  # the paths of a line that does not parse fail
        extras = f"json_extract_string({record}, [{', '.join(_json_path(k) for k in staged.extras)}])"
        values += [f"nullif({extras}[{i}], '') as {ident(k)}" for i, k in enumerate(staged.extras, start=1)]
    return f"""
        select _line, line as _record, _problem, null::varchar as _problem_column, {", ".join(values)}
        from _rw_lines"""


def _staged_json(table: RawTable, keys: set[str], known: set[str], has_objects: bool) -> Staged:
    staged = Staged(present=[c.name for c in table.columns], extras=sorted(keys - known))
    if has_objects:  # a required field absent from every record means the export changed shape
        staged.missing_required = [
            c.name
            for c in table.columns
            if c.required and c.name != table.parent_key and _field_path(c)[0] not in keys
        ]
    if any(e in {name for name, _ in LINEAGE_COLUMNS} for e in staged.extras):
        staged.problem = "a field is named like a load bookkeeping column (_file, _line, _loaded_at)"
    return staged


def _stage_json_items(con: duckdb.DuckDBPyConnection, table: RawTable) -> Staged:
    """One row per element of the record's `table.unnest` array (from `_rw_lines`), with the parent's key."""
    array = _field("_v", [table.unnest])
    item_columns = [c for c in table.columns if c.name != table.parent_key]
    unnested = f"""select _line, {_field("_v", [table.parent_key])} as _parent,
            unnest(from_json({array}, '["JSON"]')) as item
        from _rw_lines where _problem is null and json_type({array}) = 'ARRAY'"""
    con.execute(
        f"""create or replace temp table _rw_items as
        {_parsed("item", _structure(_field_path(c) for c in item_columns), unnested)}"""
    )
    keys, has_objects = _keys(con, "_rw_items", "item")
    staged = _staged_json(table, keys, _top_keys(table.columns), has_objects)
    if has_objects and not con.execute("select count(_parent) > 0 from _rw_items").fetchall()[0][0]:
        staged.missing_required.append(table.parent_key)
    if staged.missing_required:
        return staged
    values = [f"nullif({_field('_v', _field_path(c))}, '') as {ident(c.name)}" for c in item_columns]
    if staged.extras:
        record = "case when _problem is null then item end"
        extras = f"json_extract_string({record}, [{', '.join(_json_path(k) for k in staged.extras)}])"
        values += [f"nullif({extras}[{i}], '') as {ident(k)}" for i, k in enumerate(staged.extras, start=1)]
    parent_name = literal(table.parent_key)
    # The array may be absent or null (an order exported without its lines): that record has no rows here.
    not_an_array = f"coalesce(json_type({array}), 'NULL') not in ('ARRAY', 'NULL')"
    staged.sql = f"""
        select _line, json_object({parent_name}, _parent, {literal(table.unnest)}, item)::varchar as _record,
            case when _problem is not null then 'a {table.unnest} element is not a JSON object' end
                as _problem,
            null::varchar as _problem_column, nullif(_parent, '') as {ident(table.parent_key)},
            {", ".join(values)}
        from _rw_items
        union all by name
        select _line, line as _record, coalesce(_problem, '{table.unnest} is not a JSON array') as _problem,
            case when _problem is null then {literal(table.unnest)} end as _problem_column
        from _rw_lines where _problem is not null or {not_an_array}"""
    return staged
