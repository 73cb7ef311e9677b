"""A publish killed with SIGKILL midway leaves the previous serving files untouched and readable; a rerun
publishes. Uses the test-only pause hook RW_SERVING_TEST_PAUSE (orchestration/lib/serving/publish.py)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from serving_fixture import SALT, make_build_db

from orchestration.lib.serving import builds
from orchestration.lib.serving.publish import publish_marts

ROOT = Path(__file__).resolve().parent.parent


def _digests(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _publish_cmd(build_db: Path, serving: Path) -> list[str]:
    return [
        sys.executable, "-m", "orchestration.serving", "--serving-dir", str(serving),
        "--reports-dir", str(serving.parent / "reports"),
        "publish", "--source", str(build_db), "--no-dbt-docs",
    ]  # fmt: skip


@pytest.mark.parametrize("stage", ["writing", "before_swap"])
def test_kill_9_midway_leaves_the_previous_build_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage
):
    monkeypatch.setenv("RW_PII_SALT", SALT)  # for the CLI publish below, which reads its settings from env
    build_db = make_build_db(tmp_path / "build.duckdb")
    serving = tmp_path / "serving"
    first = publish_marts(build_db, serving, tmp_path / "reports", salt=SALT, dbt_docs=False)
    before = _digests(first.build_dir)
    report_before = (tmp_path / "reports" / "report.html").read_bytes()

    env = {**os.environ, "RW_SERVING_TEST_PAUSE": f"{stage}:120"}
    proc = subprocess.Popen(
        _publish_cmd(build_db, serving), cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        for line in proc.stderr:  # the publish announces the pause once it got there
            if line.strip() == f"serving-test-pause {stage}":
                break
        else:
            pytest.fail(f"publish never reached {stage}: exit {proc.wait()}")
        # It really was midway: its half-written build is on disk, not yet current.
        if stage == "writing":
            (partial,) = (serving / "builds").glob(".tmp-*")
            assert (partial / "serving.duckdb").is_file() and not (partial / "manifest.json").exists()
        else:
            assert len(builds.list_builds(serving)) == 2
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.stderr.close()

    # The old build is still current, byte for byte, and readable.
    assert builds.current_build(serving) == first.build_id
    assert _digests(first.build_dir) == before
    assert (tmp_path / "reports" / "report.html").read_bytes() == report_before
    with duckdb.connect(str(serving / "current" / "serving.duckdb"), read_only=True) as con:
        assert con.execute("select build_id from _build").fetchone()[0] == first.build_id
        assert con.execute("select count(*) from marts.dim_customers").fetchone()[0] == 120

    # A rerun publishes (and clears what the killed one left).
    rerun = subprocess.run(
        _publish_cmd(build_db, serving), cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    new = builds.current_build(serving)
    assert new != first.build_id and new == builds.list_builds(serving)[-1]
    assert not list((serving / "builds").glob(".tmp-*"))
    with duckdb.connect(str(serving / "current" / "serving.duckdb"), read_only=True) as con:
        assert con.execute("select build_id from _build").fetchone()[0] == new
