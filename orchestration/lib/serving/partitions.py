"""Month partitions of the big marts, so a publish rewrites the months a day changed, not the history.

A fact (`fct_*`) with a `month_start` or `order_month` DATE column (orders, customer months, transitions: the
marts whose rows grow with history) is served as one Parquet file per month,
`parquet/<mart>/<YYYY-MM-DD>.parquet`, and each month has its own content key. A publish writes the months
whose key changed (delete + insert in the serving DuckDB table, a new file) and hard-links the rest from the
previous build. Plain file names (no `col=value` directories), so readers do not turn the month into a string
column (DuckDB's hive partitioning would).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import duckdb

PARTITION_COLUMNS = ("month_start", "order_month")
NULL_LABEL = "null"


def partition_column(mart: str, columns: list[list[str]]) -> str | None:
    """The month column a fact is partitioned by; None for a mart served as one file (the aggregates and
    dimensions are small, or change whole every day)."""
    if not mart.startswith("fct_"):
        return None
    for name in PARTITION_COLUMNS:
        if [name, "DATE"] in columns:
            return name
    return None


def label_sql(column: str) -> str:
    """The partition a row is in, as text (the file name without .parquet)."""
    return f"coalesce(strftime(\"{column}\", '%Y-%m-%d'), '{NULL_LABEL}')"


def content_keys(
    source: duckdb.DuckDBPyConnection,
    mart: str,
    published: list[str],
    selected: list[str],
    salt: str,
    column: str | None,
) -> dict[str, tuple[int, str]]:
    """{partition label: (rows, key)}; one entry "" for an unpartitioned mart. The key hashes what the
    partition publishes: the select list (masking), the salt and an order-independent sum of the published
    source columns' row hashes (bookkeeping columns that are not served do not change it)."""
    row_hash = "hash(" + ", ".join(f'"{c}"' for c in published) + ")::hugeint"
    if column:
        query = f'select {label_sql(column)} as part, count(*), sum({row_hash})::varchar from marts."{mart}" '
        rows = source.execute(query + "group by part").fetchall()
    else:  # one entry even when the mart is empty
        query = f"select '', count(*), sum({row_hash})::varchar from marts.\"{mart}\""
        rows = source.execute(query).fetchall()
    salted = hashlib.sha256(salt.encode()).hexdigest()
    return {
        part: (count, hashlib.sha256(json.dumps([selected, salted, count, digest]).encode()).hexdigest()[:32])
        for part, count, digest in rows
    }


def mart_key(keys: dict[str, tuple[int, str]]) -> str:
    """The whole mart's content key, from its partitions' keys."""
    return hashlib.sha256(json.dumps(sorted(keys.items())).encode()).hexdigest()[:32]


def in_labels(column: str, labels: list[str]) -> str:
    """A predicate selecting the rows of the given partitions, on the date column itself (no string per row,
    and DuckDB skips row groups by their min/max). Labels are ISO dates or `null`."""
    qualified = f'"{column}"'
    dates = [label for label in labels if label != NULL_LABEL]
    literals = ", ".join(f"date '{date.fromisoformat(d)}'" for d in dates)  # only ever a date
    parts = [f"{qualified} in ({literals})"] if dates else []
    if NULL_LABEL in labels:
        parts.append(f"{qualified} is null")
    return "(" + " or ".join(parts) + ")" if parts else "false"


def write_files(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    column: str,
    labels: list[str],
    mart_dir: Path,
    build_id: str,
) -> dict[str, str]:
    """Write the given partitions of `relation` (already masked) as mart_dir/<label>.parquet in one pass;
    returns {label: file name}."""
    if not labels:
        return {}
    staging = mart_dir / ".partitioned"
    con.execute(
        f"copy (select *, {label_sql(column)} as __part from {relation} where {in_labels(column, labels)}) "
        f"to '{_sql_path(staging)}' (format parquet, compression zstd, partition_by (__part), "
        f"kv_metadata {{build_id: '{build_id}'}})"
    )
    written = {}
    for directory in sorted(staging.iterdir()):
        label = unquote(directory.name.partition("=")[2])
        files = sorted(directory.iterdir())
        if len(files) != 1:  # DuckDB writes one file per partition unless told to split by size
            raise RuntimeError(f"{directory}: expected one Parquet file, found {len(files)}")
        os.rename(files[0], mart_dir / f"{label}.parquet")
        written[label] = f"{label}.parquet"
    shutil.rmtree(staging)
    if set(written) != set(labels):
        raise RuntimeError(f"{mart_dir.name}: wrote partitions {sorted(written)}, expected {sorted(labels)}")
    return written


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
