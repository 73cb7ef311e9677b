"""Render docs/source_schema.md from raw_schema.py: `python -m orchestration.lib.loads.schema_doc`."""

from __future__ import annotations

import sys

from orchestration.lib.raw_schema import RAW_TABLES, Column, RawTable
from orchestration.settings import PROJECT_ROOT

DOC_PATH = PROJECT_ROOT / "docs" / "source_schema.md"

INTRO = """# Source file schema

<!-- Generated from orchestration/lib/raw_schema.py (do not edit):
     python -m orchestration.lib.loads.schema_doc -->

The files a business puts in its landing directory, one section per raw table. Write your exports in
this shape and point the pipeline at the directory (`RW_LANDING_DIR`); any source may be absent.

**Layout.** `<landing>/<source>/<file_family>/<file_family>_<period>.<csv|jsonl>[.gz]`; any period
label works (a month, a day) and files load in name order. Files may be gzip-compressed.

**Formats.** CSV: comma-separated, `"`-quoted (a quote inside a value is doubled), UTF-8, a header line
naming the fields in any order; an empty field is null. JSON lines: one JSON object per line.

**Values.** Timestamps are ISO-8601 (`2024-03-01T10:00:00+02:00`); one without an offset is UTC.
Dates are `YYYY-MM-DD`. Booleans are `true`/`false` (also `t`/`f`, `1`/`0`, `yes`/`no`). Whole
numbers must not have a fraction.

**What the loader does with a file** (`orchestration/lib/loads`, one transaction per file):
- A *required* field must be in the CSV header (in JSON lines: in at least one record), or the whole
  file is rejected: nothing of it is loaded, the ledger `raw._load_ledger` records why, naming the file
  and the field, and the load fails until the file is fixed or removed. Its value must be non-null in
  every record. A field required *when another is null* (an order's `email` when it has no
  `customer_id`) may be null only where that other field has a value.
- A record that breaks a rule (required value missing, a value that does not parse as its type, a
  value not among the allowed ones, outside the bounds, a timestamp or date after the load time), a
  CSV line with the wrong number of fields or an unbalanced quote, and a line that is not a JSON
  object go to `raw._quarantine` with the file, line, first failing field and the reason; the rest of
  the file loads. For every file, records in the file = rows loaded + rows quarantined.
- An optional field missing from a file is null. A field not listed here is loaded as text into a
  new column of the raw table and reported.
- A file already loaded is skipped; the same content under another name is recorded as a duplicate
  and skipped; a file whose content changed after it was loaded replaces its earlier rows and is
  reported as a warning.
- Every raw table also has `_file` (path relative to the landing directory), `_line` (line of the
  record in the file, the CSV header being line 1) and `_loaded_at`.
"""


def _bounds(column: Column) -> str:
    parts = []
    if column.min_value is not None:
        parts.append(f">= {column.min_value:g}")
    if column.max_value is not None:
        parts.append(f"<= {column.max_value:g}")
    if column.type in ("TIMESTAMPTZ", "DATE"):
        parts.append("not in the future")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table(table: RawTable) -> str:
    pattern = f"{table.source}/{table.file_family}/{table.file_family}_<period>.{table.format}[.gz]"
    lines = [f"## `raw.{table.name}`", "", table.doc, ""]
    lines.append(f"- File: `{pattern}` ({'CSV' if table.format == 'csv' else 'JSON lines'})")
    lines.append(f"- Key: `{table.key}` (may repeat across files; staging keeps the latest)")
    if table.unnest:
        lines.append(
            f"- Rows: one per element of the `{table.unnest}` array of each record; `{table.parent_key}` "
            "is the parent record's. The array is optional: a record without it (or with null) has no rows"
        )
    if table.optional_columns_note:
        lines.append(f"- {table.optional_columns_note}")
    lines += [
        "",
        "| field | type | required | allowed values | bounds | description |",
        "|---|---|---|---|---|---|",
    ]
    for c in table.columns:
        field = f"`{c.json_path}`" if c.json_path else f"`{c.name}`"
        allowed = ", ".join(f"`{v}`" for v in c.allowed)
        required = (
            "yes" if c.required else (f"when `{c.required_unless}` is null" if c.required_unless else "")
        )
        lines.append(f"| {field} | {c.type} | {required} | {allowed} | {_bounds(c)} | {_cell(c.doc)} |")
    return "\n".join(lines) + "\n"


def render() -> str:
    return INTRO + "".join("\n" + render_table(t) for t in RAW_TABLES)


def main(argv: list[str] | None = None) -> int:
    """Write the doc; with --check, only report whether the committed doc is current."""
    args = sys.argv[1:] if argv is None else argv
    current = DOC_PATH.read_text() if DOC_PATH.exists() else ""
    if "--check" in args:
        if current != render():
            print(f"{DOC_PATH} is stale: run python -m orchestration.lib.loads.schema_doc", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(render())
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
