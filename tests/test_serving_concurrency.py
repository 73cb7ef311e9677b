"""BI readers in other processes query every served mart, read-only, in a loop while the whole warehouse is
rebuilt through Dagster (raw loads -> dbt -> CLV -> checks -> publish): no read fails, every read sees
exactly one build (DuckDB file, manifest and Parquet agree), readers move from the old build to the new one
and never back, and no reader ever opens the build database.

Build A is the session's sample build (`built_warehouse`), copied so the session's files stay as they are;
build B is the real `build_warehouse` job run again on the copy while the readers read."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import build_through_dagster, settings_under

from orchestration.lib.nothing_new import FULL_CHECKS_TAG
from orchestration.lib.serving.builds import current_build
from orchestration.settings import Settings

pytestmark = pytest.mark.slow  # one more full build of the sample (about a minute on 2 cores)

# One reader process: loops until the stop file appears, then writes what every iteration saw.
READER = r"""
import json, os, sys, time
from pathlib import Path
import duckdb

serving, stop, out = (Path(a) for a in sys.argv[1:4])
pause = float(sys.argv[4])
ONE_THREAD = {"threads": 1}  # a BI session is small; leave the cores to the build


def open_files():
    # Every file this process holds open right now, resolved: shows which database a connection really uses.
    fds = Path("/proc/self/fd")
    return {os.path.realpath(fds / fd) for fd in os.listdir(fds)} - {str(fds)}


reads = []
while not stop.exists():
    try:
        # The DuckDB file through the symlink, as BI opens it: one connection is one build.
        served_file = serving / "current" / "serving.duckdb"
        with duckdb.connect(str(served_file), read_only=True, config=ONE_THREAD) as con:
            ids = [r[0] for r in con.execute("select build_id from _build").fetchall()]
            marts = [r[0] for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()]
            # Read every column of every mart (not just the row count from metadata).
            rows = {m: con.sql(f'select * from marts."{m}"').to_arrow_table().num_rows for m in marts}
            opened = open_files()
        served = json.loads((serving / "builds" / ids[0] / "manifest.json").read_text())
        # Parquet and manifest: resolve `current` once, read everything from that directory.
        build = Path(os.path.realpath(serving / "current"))
        manifest = json.loads((build / "manifest.json").read_text())
        with duckdb.connect(config=ONE_THREAD) as mem:
            parquet_ids = sorted({r[0].decode() for r in mem.execute(
                "select value from parquet_kv_metadata(?) where key = 'build_id'",
                [str(build / "parquet" / "**" / "*.parquet")]).fetchall()})
            parquet_rows = {m: mem.execute("select count(*) from read_parquet(?)",
                                           [str(build / e["parquet"])]).fetchone()[0]
                            for m, e in manifest["marts"].items()}
            opened |= open_files()
        reads.append({
            "ok": True,
            "db_ids": ids,
            "db_rows_match": rows == {m: e["rows"] for m, e in served["marts"].items()},
            "manifest_id": manifest["build_id"],
            "parquet_ids": parquet_ids,
            # A mart (or a fact's month) unchanged since an earlier build shares that build's Parquet file.
            "parquet_writers": sorted({e.get("shared_with") or manifest["build_id"]
                                       for e in manifest["marts"].values() if "partitions" not in e}
                                      | {p["written_by"] for e in manifest["marts"].values()
                                         for p in e.get("partitions", {}).values()}),
            "parquet_rows_match": parquet_rows == {m: e["rows"] for m, e in manifest["marts"].items()},
            "opened": sorted(opened),
        })
    except Exception as exc:
        reads.append({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    if len(reads) == 1:
        Path(f"{out}.ready").touch()
    time.sleep(pause)  # leave CPU to the build on a 2-core machine
out.write_text(json.dumps(reads))
"""


def run_readers_during(
    serving: Path, work: Callable[[], None], readers: int = 2, pause: float = 1.0
) -> list[list[dict]]:
    """Start `readers` reader processes on `serving`, run `work()` once all have read; return their reads."""
    stop = serving.parent / "stop-readers"
    outs = [serving.parent / f"reads-{i}.json" for i in range(readers)]
    procs = [
        subprocess.Popen([sys.executable, "-c", READER, str(serving), str(stop), str(o), str(pause)])
        for o in outs
    ]
    try:
        deadline = time.monotonic() + 120
        while not all(Path(f"{o}.ready").exists() for o in outs):
            assert time.monotonic() < deadline, "readers did not start"
            assert all(p.poll() is None for p in procs), "a reader died"
            time.sleep(0.1)
        work()
        time.sleep(2 * pause + 1.0)  # let every reader read the final build too
    finally:
        stop.touch()
        for p in procs:
            p.wait(timeout=120)
    assert [p.returncode for p in procs] == [0] * readers
    return [json.loads(o.read_text()) for o in outs]


def copy_of(settings: Settings, root: Path) -> Settings:
    """The built warehouse and its serving directory, copied; the sample landing files are only read."""
    root.mkdir(parents=True)
    shutil.copy(settings.duckdb_path, root / "warehouse.duckdb")
    shutil.copytree(settings.serving_dir, root / "serving", symlinks=True)
    return settings_under(root, landing_dir=settings.landing_dir)


def test_readers_never_fail_and_never_see_a_mix_during_a_full_build_and_publish(built_warehouse, tmp_path):
    settings = copy_of(built_warehouse, tmp_path / "warehouse")
    build_a = current_build(Path(settings.serving_dir))
    assert build_a is not None
    runs = []

    def full_build() -> None:
        # The same files again would be "nothing new" (no publish): the weekly full-check run builds anyway.
        runs.append(build_through_dagster(settings, tags={FULL_CHECKS_TAG: "true"}))

    started, cpu = time.monotonic(), _cpu_seconds()
    per_reader = run_readers_during(Path(settings.serving_dir), full_build)
    elapsed, cpu = time.monotonic() - started, _cpu_seconds() - cpu
    assert runs[0].success, [e.message for e in runs[0].all_events if e.is_step_failure]
    build_b = current_build(Path(settings.serving_dir))
    assert build_b is not None and build_b > build_a  # ids sort by time

    reads = [r for rs in per_reader for r in rs]
    failed = [r for r in reads if not r["ok"]]
    assert not failed, f"{len(failed)} of {len(reads)} reads failed: {failed[:3]}"
    builds = Path(settings.serving_dir) / "builds"
    for r in reads:
        # One build per read: the DuckDB file's _build, its manifest's row counts, the Parquet metadata.
        assert len(r["db_ids"]) == 1 and r["db_rows_match"], r
        assert r["parquet_ids"] == r["parquet_writers"] and r["parquet_rows_match"], r
        assert {r["db_ids"][0], r["manifest_id"]} <= {build_a, build_b}, r
        # The DuckDB file held open is the one of the build the read saw; the build database never is.
        databases = {p for p in r["opened"] if ".duckdb" in Path(p).name}
        assert databases == {str((builds / r["db_ids"][0] / "serving.duckdb").resolve())}, r["opened"]
        assert not any(p.startswith(str(Path(settings.duckdb_path).resolve())) for p in r["opened"]), r[
            "opened"
        ]
    for rs in per_reader:
        # Each reader sees build A, then build B, and never goes back: the swap happened while it read.
        seen = {r["db_ids"][0] for r in rs} | {r["manifest_id"] for r in rs}
        assert seen == {build_a, build_b}, "a reader did not straddle the swap"
        for ids in ([r["db_ids"][0] for r in rs], [r["manifest_id"] for r in rs]):
            assert ids == sorted(ids), "a reader went back to an older build"
    print(
        f"{len(reads)} reads by {len(per_reader)} readers during a {elapsed:.1f}s build and publish "
        f"({cpu:.1f} CPU s: build, dbt and readers)"
    )


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
