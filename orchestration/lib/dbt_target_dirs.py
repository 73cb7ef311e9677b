"""Old dbt invocation directories are deleted, so the project's target/ does not grow with every run.

dagster-dbt gives each dbt command its own directory under dbt_project/target/ (`<step>-<run>-<uuid>`, about
12 MB: manifest, run results, compiled SQL, dbt.log) and never removes it: two a day, about 9 GB a year. The
newest ones stay for whoever debugs a run (dbt.log, run_results.json); a directory is only deleted when it is
beyond the newest `keep` and older than `min_age`, so a step still writing to its directory is never touched,
whatever other runs do meanwhile.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from pathlib import Path

KEEP = 10
MIN_AGE_SECONDS = 24 * 3600


def prune(
    target_dir: Path, prefixes: Iterable[str], keep: int = KEEP, min_age_seconds: float = MIN_AGE_SECONDS
) -> list[Path]:
    """Delete the invocation directories named `<prefix>-...` beyond the newest `keep` that were last
    modified more than `min_age_seconds` ago; returns what was deleted."""
    dirs = [p for prefix in prefixes for p in target_dir.glob(f"{prefix}-*") if p.is_dir()]
    dirs.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    cutoff = time.time() - min_age_seconds
    deleted = [p for p in dirs[keep:] if p.stat().st_mtime < cutoff]
    for path in deleted:
        shutil.rmtree(path, ignore_errors=True)
    return deleted
