"""BI readers in other processes query every mart of `current`, read-only, in a loop while publishes swap it:
no read fails, and every set of queries sees exactly one build (DuckDB file, manifest and Parquet agree)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from orchestration.serving.publish import publish_marts

# One reader process: loops until the stop file appears, then writes what every iteration saw.
READER = r"""
import json, os, sys
from pathlib import Path
import duckdb

serving, stop, out = (Path(a) for a in sys.argv[1:4])
reads = []
while not stop.exists():
    try:
        # The DuckDB file through the symlink: one connection is one build.
        with duckdb.connect(str(serving / "current" / "serving.duckdb"), read_only=True) as con:
            ids = [r[0] for r in con.execute("select build_id from _build").fetchall()]
            marts = [r[0] for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()]
            # Read every column of every mart (not just the row count from metadata).
            rows = {m: con.sql(f'select * from marts."{m}"').to_arrow_table().num_rows for m in marts}
        served = json.loads((serving / "builds" / ids[0] / "manifest.json").read_text())
        # Parquet and manifest: resolve `current` once, read everything from that directory.
        build = Path(os.path.realpath(serving / "current"))
        manifest = json.loads((build / "manifest.json").read_text())
        with duckdb.connect() as mem:
            parquet_ids = sorted({r[0].decode() for r in mem.execute(
                "select value from parquet_kv_metadata(?) where key = 'build_id'",
                [str(build / "parquet" / "*.parquet")]).fetchall()})
            parquet_rows = {m: mem.execute("select count(*) from read_parquet(?)",
                                           [str(build / e["parquet"])]).fetchone()[0]
                            for m, e in manifest["marts"].items()}
        reads.append({
            "ok": True,
            "db_ids": ids,
            "db_rows_match": rows == {m: e["rows"] for m, e in served["marts"].items()},
            "manifest_id": manifest["build_id"],
            "parquet_ids": parquet_ids,
            "parquet_rows_match": parquet_rows == {m: e["rows"] for m, e in manifest["marts"].items()},
        })
    except Exception as exc:
        reads.append({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    if len(reads) == 1:
        Path(f"{out}.ready").touch()
out.write_text(json.dumps(reads))
"""


def run_readers_during(serving: Path, work, readers: int = 2) -> list[dict]:
    """Start `readers` reader processes on `serving`, run `work()` once all have read, return every read."""
    stop = serving.parent / "stop-readers"
    outs = [serving.parent / f"reads-{i}.json" for i in range(readers)]
    procs = [subprocess.Popen([sys.executable, "-c", READER, str(serving), str(stop), str(o)]) for o in outs]
    try:
        deadline = time.monotonic() + 120
        while not all(Path(f"{o}.ready").exists() for o in outs):
            assert time.monotonic() < deadline, "readers did not start"
            assert all(p.poll() is None for p in procs), "a reader died"
            time.sleep(0.1)
        work()
        time.sleep(1.0)  # let every reader read the final build too
    finally:
        stop.touch()
        for p in procs:
            p.wait(timeout=120)
    return [read for o in outs for read in json.loads(o.read_text())]


def check_reads(reads: list[dict], first: str, last: str) -> None:
    failed = [r for r in reads if not r["ok"]]
    assert not failed, f"{len(failed)} of {len(reads)} reads failed: {failed[:3]}"
    for r in reads:
        assert len(r["db_ids"]) == 1 and r["db_rows_match"], r
        assert r["parquet_ids"] == [r["manifest_id"]] and r["parquet_rows_match"], r
    seen = {r["db_ids"][0] for r in reads} | {r["manifest_id"] for r in reads}
    assert {first, last} <= seen, f"readers never saw the swap: {seen}"


def test_readers_never_fail_and_never_see_a_mix_while_publishes_swap(built_warehouse, tmp_path: Path):
    serving, reports = tmp_path / "serving", tmp_path / "reports"
    first = publish_marts(built_warehouse.duckdb_path, serving, reports, dbt_docs=False).build_id
    published: list[str] = []

    def publish_twice() -> None:
        for _ in range(2):
            published.append(
                publish_marts(built_warehouse.duckdb_path, serving, reports, dbt_docs=False).build_id
            )

    reads = run_readers_during(serving, publish_twice)
    check_reads(reads, first, published[-1])
    assert len(reads) >= 10
