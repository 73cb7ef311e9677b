"""dbt invocation directories: newest kept, old ones deleted, one in use never (lib/dbt_target_dirs.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from orchestration.lib import dbt_target_dirs


def _invocation(target: Path, name: str, age_hours: float) -> Path:
    path = target / name
    path.mkdir()
    (path / "dbt.log").write_text("log")
    then = time.time() - age_hours * 3600
    os.utime(path, (then, then))
    return path


def test_only_old_directories_beyond_the_newest_are_deleted(tmp_path: Path) -> None:
    # Ages in hours, newest first: the 3 newest stay whatever their age; of the rest, those under a day stay.
    ages = {
        "dbt_before_clv-a": 1,
        "dbt_after_clv-b": 30,
        "dbt_before_clv-c": 40,
        "dbt_after_clv-d": 2,
        "dbt_before_clv-e": 50,
        "dbt_before_clv-f": 60,
    }
    made = {name: _invocation(tmp_path, name, age) for name, age in ages.items()}
    other = _invocation(tmp_path, "compiled_by_hand-x", 100)  # not an invocation of these steps
    seed = tmp_path / "partial_parse.msgpack"
    seed.write_text("seed")

    deleted = dbt_target_dirs.prune(tmp_path, ("dbt_before_clv", "dbt_after_clv"), keep=3)

    # Newest three by age: a (1 h), d (2 h), b (30 h). Beyond them: c, e, f, all older than a day.
    assert sorted(p.name for p in deleted) == ["dbt_before_clv-c", "dbt_before_clv-e", "dbt_before_clv-f"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
        "compiled_by_hand-x",
        "dbt_after_clv-b",
        "dbt_after_clv-d",
        "dbt_before_clv-a",
    ]
    assert other.exists() and seed.exists() and made["dbt_after_clv-b"].exists()


def test_a_recent_directory_is_kept_even_beyond_the_newest(tmp_path: Path) -> None:
    for i in range(5):
        _invocation(tmp_path, f"dbt_before_clv-{i}", age_hours=0.5 + i)
    assert dbt_target_dirs.prune(tmp_path, ("dbt_before_clv",), keep=2) == []
    assert len(list(tmp_path.iterdir())) == 5
