"""Static dbt docs (`dbt docs generate --static`): one HTML file with the manifest and catalog inside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR


def generate_static_docs(build_db: Path, out: Path) -> Path:
    """Run dbt docs against the build database into a scratch target dir; copy static_index.html to `out`.

    The scratch target keeps dbt_project/target (whose manifest Dagster loads) untouched.
    """
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "RW_DUCKDB_PATH": str(build_db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with tempfile.TemporaryDirectory(prefix="dbt-docs-") as target:
        _seed_partial_parse(Path(target))
        cmd = [
            str(dbt), "docs", "generate", "--static", "--quiet",
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", target, "--log-path", target,
        ]  # fmt: skip
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        static = Path(target) / "static_index.html"
        if done.returncode != 0 or not static.is_file():
            raise RuntimeError(
                f"dbt docs generate failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
        shutil.copyfile(static, out)
    return out


def _seed_partial_parse(target: Path) -> None:
    """Start from the newest parse of this project (the build's own dbt run usually) so dbt re-parses only
    what changed; dbt itself falls back to a full parse when the project, profile or vars differ."""
    parses = sorted(
        (DBT_PROJECT_DIR / "target").glob("**/partial_parse.msgpack"), key=lambda p: p.stat().st_mtime
    )
    if parses:
        shutil.copyfile(parses[-1], target / "partial_parse.msgpack")
