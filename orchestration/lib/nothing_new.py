"""Whether a run has anything to build: the inputs of the current serving build against the warehouse's.

A build is made from two inputs: the landing files the warehouse holds (the load ledger, where every file
event is a row) and the transformation code (the dbt manifest's node and macro checksums and the project's
vars). Before dbt starts, the run takes their fingerprint; publishing records it in the serving build's
manifest. When the current serving build was made from exactly these inputs, the run has nothing new to
do: dbt does not start, every step after it is skipped, and the run says so (log and run tag).

Anything else builds: a new or changed file, an earlier run that loaded files but failed a check or its
publish (its fingerprint never reached serving), changed models, `--full-refresh`, a pinned as_of_date, or
a serving directory without the key (a build published before this existed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import duckdb

RUN_TAG = "warehouse/nothing_new"  # "true" on a run that found nothing new
INPUTS_TAG = "warehouse/inputs"  # the fingerprint the run built from, for the publish step
MANIFEST_KEY = "inputs"  # in the serving build's manifest.json
# "true": checks judge every row, not only the new ones (weekly schedule, full refresh); never skipped.
FULL_CHECKS_TAG = "warehouse/full_checks"


def full_checks_requested(run_tags: Mapping[str, str]) -> bool:
    return run_tags.get(FULL_CHECKS_TAG) == "true"


def ledger_state(con: duckdb.DuckDBPyConnection) -> list:
    """Every table's file events so far: count and latest time (the ledger only ever grows)."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = '_load_ledger'"
    ).fetchone()[0]
    if not exists:
        return []
    rows = con.execute(
        "select table_name, count(*), max(loaded_at)::varchar from raw._load_ledger group by 1 order by 1"
    ).fetchall()
    return [list(r) for r in rows]


@cache
def code_state(manifest_path: Path, mtime_ns: int) -> str:
    """The transformation code as dbt parsed it: every node's and macro's checksum, and the vars."""
    manifest = json.loads(manifest_path.read_text())
    parts = {
        uid: node.get("checksum", {}).get("checksum")
        for section in ("nodes", "macros", "sources")
        for uid, node in manifest.get(section, {}).items()
    }
    project = manifest_path.parent.parent / "dbt_project.yml"
    parts["dbt_project.yml"] = hashlib.sha256(project.read_bytes()).hexdigest() if project.exists() else ""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def fingerprint(con: duckdb.DuckDBPyConnection, manifest_path: Path) -> str:
    """`<files>.<code>`: a digest of the ledger, then one of the code (code_of reads it back)."""
    files = hashlib.sha256(json.dumps(ledger_state(con), default=str).encode()).hexdigest()[:16]
    code = code_state(manifest_path, manifest_path.stat().st_mtime_ns)[:16]
    return f"{files}.{code}"


def code_of(inputs: str | None) -> str | None:
    """The code part of a fingerprint (None for a missing one or one recorded before the split)."""
    return (inputs.partition(".")[2] or None) if inputs else None


def served_fingerprint(serving_dir: Path) -> str | None:
    """The inputs the current serving build was made from (None: nothing published, or not recorded)."""
    manifest = Path(serving_dir) / "current" / "manifest.json"
    try:
        return json.loads(manifest.read_text()).get(MANIFEST_KEY)
    except (OSError, ValueError):
        return None
