"""The short summary printed after a build: row counts per layer, marts, and where everything is."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.settings import Settings

LAYERS = ("raw", "staging", "intermediate", "snapshots", "marts", "clv")


def row_counts(duckdb_path: Path) -> dict[str, dict[str, int]]:
    """Rows of every table and view per layer schema, read through a read-only connection."""
    counts: dict[str, dict[str, int]] = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?::varchar[])) order by 1, 2",
            [list(LAYERS)],
        ).fetchall()
        for schema, table in rows:
            n = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            counts.setdefault(schema, {})[table] = n
    return counts


def render(settings: Settings) -> str:
    counts = row_counts(Path(settings.duckdb_path))
    lines = ["", "Warehouse built.", ""]
    for layer in LAYERS:
        tables = counts.get(layer, {})
        if tables:
            lines.append(f"  {layer:<12} {len(tables):>3} tables  {sum(tables.values()):>12,} rows")
    lines += ["", "Marts (BI reads these, from the serving copy):"]
    for name, n in counts.get("marts", {}).items():
        lines.append(f"  marts.{name:<34} {n:>10,} rows")
    current = Path(settings.serving_dir) / "current"
    published = (current / "manifest.json").exists()
    reports = Path(settings.reports_dir)
    lines += [
        "",
        f"Build database (Dagster/dbt only):   {settings.duckdb_path}",
        f"Serving database for BI (read-only): {current / 'serving.duckdb'}"
        + ("" if published else "  (not published in this build)"),
        f"Serving Parquet files:               {current / 'parquet'}",
        f"Visual report:                       {reports / 'report.html'}",
        f"Data Docs (Great Expectations):      {reports / 'data_docs' / 'index.html'}",
        f"dbt docs:                            {reports / 'dbt_docs.html'}",
        f"Landing directory loaded:            {settings.landing_dir}",
        "Dagster UI with this run history:    make dev  ->  http://127.0.0.1:3000",
        "",
    ]
    return "\n".join(lines)
