"""Read a batch of landing files of one family as text: `Staged.sql` selects one row per record, every value
as VARCHAR, with `_rw_file`, the record's file (its 1-based position in the batch).

Nothing is typed or judged here except the file's structure: a CSV line with the wrong number of fields
or an unbalanced quote, and a JSON line that does not parse, become rows with `_problem` set (and their
line number), so validation can quarantine them with everything else. Staged columns: `_rw_file`, `_line`,
`_record` (the line's text where it is at hand), `_problem`, `_problem_column`, then one VARCHAR column
per table column found in the file and per column new in the export.

Both formats are read by DuckDB's CSV reader with `store_rejects`: CSV with the fixed RFC 4180 dialect
(`,` `"`), JSON lines as one text field per line (a field separator that cannot occur in valid JSON and
no quoting; one read of a JSON lines file stages every table it feeds). All files of a batch are read
by one statement (`filename = true`). The reader drops rejected records from its output and keeps order,
so the line of an accepted record is recovered from its ordinal in its file and the lines taken by
rejected records and, in CSV, blank lines (`_number_lines`). Line numbers are the
file's (the header is line 1), except that the CSV reader counts a quoted value spanning lines as one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
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
    sql: str = ""  # the staged rows of the batch (a SELECT), read once by validation
    # JSON lines: what each file (by `_rw_file`) holds, where it differs from the batch (its extras are
    # its own; the batch's are all of them). CSV files of a batch share one header: none here.
    files: dict[int, Staged] = field(default_factory=dict)

    def of_file(self, number: int) -> Staged:
        return self.files.get(number, self)


def stage(con: duckdb.DuckDBPyConnection, paths: list[Path], tables: list[RawTable]) -> dict[str, Staged]:
    """Stage every table loaded from `paths` (one per CSV family; a JSON lines family may feed several).
    CSV files of one batch must share their header line."""
    if tables[0].format == "csv":
        [table] = tables
        return {table.name: stage_csv(con, paths, table)}
    return stage_jsonl(con, paths, tables)


def _read_with_rejects(
    con: duckdb.DuckDBPyConnection, paths: list[Path], options: str, parse: Callable[[str], str] = str
) -> None:
    """`_rw_parsed` (accepted records in file order, with what `parse` adds to the reader's select) and
    `_rw_bad` (one row per rejected line), both with `_rw_file`."""
    names = [str(p) for p in paths]
    con.execute("drop table if exists _rw_rejects")
    con.execute("drop table if exists _rw_reject_scans")
    reader = (
        "select list_position($names, filename) as _rw_file, "
        "* exclude (filename) from read_csv($names, auto_detect = false, filename = true, "
        "store_rejects = true, rejects_table = '_rw_rejects', rejects_scan = '_rw_reject_scans', "
        f"compression = 'auto', strict_mode = true, {options})"
    )
    con.execute(f"create or replace temp table _rw_parsed as {parse(reader)}", {"names": names})
    con.execute(
        f"""create or replace temp table _rw_bad as
        select list_position($names, s.file_path) as _rw_file, line,
            first(column_name order by column_idx) as column_name,
            first({_REJECT_REASONS} order by column_idx) as reason,
            first(trim(csv_line, chr(10) || chr(13)) order by column_idx) as record
        from _rw_rejects r join _rw_reject_scans s using (scan_id, file_id) group by all""",
        {"names": names},
    )


def _number_lines(
    con: duckdb.DuckDBPyConnection, first_line: int, taken: str = "select _rw_file, line from _rw_bad"
) -> str:
    """`_rw_parsed` with `_line`: the k-th accepted record of a file takes the k-th line number of that file
    that no rejected record (or blank line, `taken`) took."""
    con.execute(f"create or replace temp table _rw_taken as select distinct _rw_file, line from ({taken})")
    # Rows are stored in read order, files one after another: a record's ordinal in its file is its rowid
    # less its file's first rowid (a subtraction, where a window would sort every row).
    starts = dict(con.execute("select _rw_file, min(rowid) from _rw_parsed group by all").fetchall())
    first_row = "[" + ", ".join(str(starts.get(n, 0)) for n in range(1, max(starts, default=0) + 1)) + "]"
    ordinal = f"(rowid - {first_row}[_rw_file] + 1)"
    if not con.execute("select count(*) from _rw_taken").fetchall()[0][0]:  # the usual case, and cheaper
        return f"(select *, {ordinal} + {first_line - 1} as _line from _rw_parsed)"
    return f"""(
        with accepted as (select {ordinal} as k, * from _rw_parsed),
        rejected as (
            select _rw_file,
                line - {first_line} - (row_number() over (partition by _rw_file order by line) - 1)
                    as accepted_before,
                row_number() over (partition by _rw_file order by line) as n
            from _rw_taken where line >= {first_line}
        ),
        gaps as (select _rw_file, accepted_before, max(n) as n from rejected group by all)
        select accepted.* exclude (k), accepted.k + {first_line - 1} + coalesce(gaps.n, 0) as _line
        from accepted asof left join gaps
            on accepted._rw_file = gaps._rw_file and accepted.k > gaps.accepted_before
    )"""


# ---------------------------------------------------------------------------------------------------- CSV
def _blank_lines(paths: list[Path]) -> str:
    """Blank lines of CSV files: the CSV reader skips them but counts them in its line numbers. Each file is
    read as Latin-1 lines, which any bytes are, in one ordered thread so row_number() is the line number."""
    return " union all ".join(
        f"select {number} as _rw_file, line from (select row_number() over () as line, text from read_csv("
        f"{literal(str(path))}, header = false, columns = {{'text': 'VARCHAR'}}, auto_detect = false, "
        f"delim = {literal(JSON_LINE_SEPARATOR * 2 + chr(31) * 2)}, quote = '', escape = '', "
        "encoding = 'latin-1', compression = 'auto', parallel = false, "
        f"max_line_size = {BLANK_SCAN_MAX_LINE})) "
        "where text is null or trim(text) = ''"
        for number, path in enumerate(paths, start=1)
    )


def stage_csv(con: duckdb.DuckDBPyConnection, paths: list[Path], table: RawTable) -> Staged:
    header = csv_header(paths[0])
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
        con, paths, f"header = true, columns = {{{positional}}}, delim = ',', quote = '\"', escape = '\"'"
    )
    values = ", ".join(f"c{i} as {ident(name)}" for i, name in enumerate(names))
    column_of_reject = " ".join(f"when 'c{i}' then {literal(name)}" for i, name in enumerate(names))
    taken = f"select _rw_file, line from _rw_bad union all {_blank_lines(paths)}"
    staged.sql = f"""
        select _rw_file, _line, null::varchar as _record, null::varchar as _problem,
            null::varchar as _problem_column, {values}
        from {_number_lines(con, first_line=2, taken=taken)}
        union all by name
        select _rw_file, line as _line, record as _record, reason as _problem,
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


def _read_json_lines(con: duckdb.DuckDBPyConnection, paths: list[Path], structure: str) -> None:
    """`_rw_lines`: every non-blank line with its file, number, known fields and problem (see `_parsed`)."""
    _read_with_rejects(
        con,
        paths,
        f"header = false, columns = {{'line': 'VARCHAR'}}, delim = {literal(JSON_LINE_SEPARATOR)}, "
        "quote = '', escape = ''",
        lambda reader: _parsed("line", structure, reader),  # parsed as read: the text is scanned once
    )
    con.execute(
        f"""create or replace temp table _rw_lines as
        select * from {_number_lines(con, first_line=1)} where not {_BLANK}
        union all by name
        select _rw_file, line as _line, record as line, reason as _problem from _rw_bad"""
    )


def _keys(con: duckdb.DuckDBPyConnection, rows: str, text: str) -> dict[int, set[str]]:
    """Distinct keys of the records of `rows` (JSON text `text`, `_problem` null) by file; a file without
    records is absent."""
    found = con.execute(
        f"""select _rw_file, coalesce(list(distinct k) filter (k is not null), []) from (
                select _rw_file, unnest(json_keys({text})) as k from {rows} where _problem is null
                union all select _rw_file, null from {rows} where _problem is null
            ) group by _rw_file"""
    ).fetchall()
    return {number: set(keys) for number, keys in found}


def _staged_files(
    table: RawTable,
    keys: dict[int, set[str]],
    known: set[str],
    n_files: int,
    missing: dict[int, list[str]] | None = None,
) -> tuple[Staged, bool]:
    """The batch's Staged with each file's own in `files`, and whether any file is fit to load."""
    files = {n: _staged_json(table, keys.get(n, set()), known, n in keys) for n in range(1, n_files + 1)}
    for n, names in (missing or {}).items():
        files[n].missing_required += names
    fit = [s for s in files.values() if not (s.missing_required or s.problem)]
    extras = sorted({e for s in fit for e in s.extras})
    return Staged(present=[c.name for c in table.columns], extras=extras, files=files), bool(fit)


def stage_jsonl(
    con: duckdb.DuckDBPyConnection, paths: list[Path], tables: list[RawTable]
) -> dict[str, Staged]:
    """Stage every table of one JSON lines file family from a single read and parse of the files: the
    tables of the records (orders) and of an array in each record (its line_items)."""
    flat = [t for t in tables if not t.unnest]
    nested = [t for t in tables if t.unnest]
    fields = [_field_path(c) for t in flat for c in t.columns] + [[t.parent_key] for t in nested]
    _read_json_lines(con, paths, _structure(fields, [t.unnest for t in nested]))
    keys = _keys(con, "_rw_lines", "line")
    staged = {}
    for table in flat:
        known = _top_keys(table.columns) | _sibling_unnest_keys(table)
        staged[table.name], fit = _staged_files(table, keys, known, len(paths))
        if fit:
            staged[table.name].sql = _flat_sql(table, staged[table.name])
    for table in nested:
        staged[table.name] = _stage_json_items(con, table, len(paths))
    return staged


def _flat_sql(table: RawTable, staged: Staged) -> str:
    values = [f"nullif({_field('_v', _field_path(c))}, '') as {ident(c.name)}" for c in table.columns]
    if staged.extras:  # fields new in the export: rare, so a third parse only where there are some
        record = "case when _problem is null then line end"  # the paths of a line that does not parse fail
        extras = f"json_extract_string({record}, [{', '.join(_json_path(k) for k in staged.extras)}])"
        values += [f"nullif({extras}[{i}], '') as {ident(k)}" for i, k in enumerate(staged.extras, start=1)]
    return f"""
        select _rw_file, _line, line as _record, _problem, null::varchar as _problem_column,
            {", ".join(values)}
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


def _stage_json_items(con: duckdb.DuckDBPyConnection, table: RawTable, n_files: int) -> Staged:
    """One row per element of the record's `table.unnest` array (from `_rw_lines`), with the parent's key."""
    array = _field("_v", [table.unnest])
    item_columns = [c for c in table.columns if c.name != table.parent_key]
    unnested = f"""select _rw_file, _line, {_field("_v", [table.parent_key])} as _parent,
            unnest(from_json({array}, '["JSON"]')) as item
        from _rw_lines where _problem is null and json_type({array}) = 'ARRAY'"""
    con.execute(
        f"""create or replace temp table _rw_items as
        {_parsed("item", _structure(_field_path(c) for c in item_columns), unnested)}"""
    )
    keys = _keys(con, "_rw_items", "item")
    # A file whose items (objects among them) carry no parent key at all lacks a required field.
    orphaned = con.execute(
        "select coalesce(list(_rw_file), []) from "
        "(select _rw_file from _rw_items group by all having count(_parent) = 0)"
    ).fetchall()[0][0]
    missing = {n: [table.parent_key] for n in orphaned if n in keys}
    staged, fit = _staged_files(table, keys, _top_keys(table.columns), n_files, missing)
    if not fit:
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
        select _rw_file, _line,
            json_object({parent_name}, _parent, {literal(table.unnest)}, item)::varchar as _record,
            case when _problem is not null then 'a {table.unnest} element is not a JSON object' end
                as _problem,
            null::varchar as _problem_column, nullif(_parent, '') as {ident(table.parent_key)},
            {", ".join(values)}
        from _rw_items
        union all by name
        select _rw_file, _line, line as _record,
            coalesce(_problem, '{table.unnest} is not a JSON array') as _problem,
            case when _problem is null then {literal(table.unnest)} end as _problem_column
        from _rw_lines where _problem is not null or {not_an_array}"""
    return staged
