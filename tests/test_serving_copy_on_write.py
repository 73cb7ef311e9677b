"""Publishing only what changed: a mart whose content did not change shares the previous build's Parquet file
(a hard link, same inode) and its table comes with the copy of the previous serving.duckdb; a changed mart
is written again; every build still serves exactly the rows of the build database, and rolling back to the
earlier build still serves the earlier rows. Uses the small hand-made build DB of test_serving.py."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from serving_fixture import SALT, make_build_db

from orchestration.lib.serving import builds
from orchestration.lib.serving.publish import publish_marts


@pytest.fixture
def build_db(tmp_path: Path) -> Path:
    return make_build_db(tmp_path / "build.duckdb")


def _publish(build_db: Path):
    root = build_db.parent
    return publish_marts(build_db, root / "serving", root / "reports", salt=SALT, dbt_docs=False)


def _served_rows(build_dir: Path, mart: str) -> list[tuple]:
    with duckdb.connect(str(build_dir / "serving.duckdb"), read_only=True) as con:
        return sorted(con.execute(f'select * from marts."{mart}"').fetchall(), key=repr)


def _parquet_rows(build_dir: Path, mart: str) -> list[tuple]:
    with duckdb.connect() as con:
        path = str(build_dir / "parquet" / f"{mart}.parquet")
        return sorted(con.execute("select * from read_parquet(?)", [path]).fetchall(), key=repr)


def test_unchanged_marts_are_shared_and_a_changed_mart_is_written_again(build_db: Path):
    first = _publish(build_db)
    marts = sorted(first.manifest["marts"])
    changed = marts[0]
    with duckdb.connect(str(build_db)) as con:
        before = con.execute(f'select count(*) from marts."{changed}"').fetchone()[0]
        # One row fewer in one mart: the build database now differs from the first build there only.
        con.execute(f'delete from marts."{changed}" where rowid = (select min(rowid) from marts."{changed}")')
    second = _publish(build_db)

    entries = second.manifest["marts"]
    assert entries[changed]["rows"] == before - 1 and "shared_with" not in entries[changed]
    for mart in marts[1:]:
        assert entries[mart]["shared_with"] == first.build_id, mart
        old, new = (b.build_dir / "parquet" / f"{mart}.parquet" for b in (first, second))
        assert os.stat(old).st_ino == os.stat(new).st_ino, mart  # one file, two builds
    changed_files = (b.build_dir / "parquet" / f"{changed}.parquet" for b in (first, second))
    assert len({os.stat(p).st_ino for p in changed_files}) == 2

    # Each build serves what its manifest says, in its DuckDB file and its Parquet files alike.
    for build in (first, second):
        for mart, entry in build.manifest["marts"].items():
            served = _served_rows(build.build_dir, mart)
            assert len(served) == entry["rows"], (build.build_id, mart)
            assert _parquet_rows(build.build_dir, mart) == served, (build.build_id, mart)
    assert len(_served_rows(first.build_dir, changed)) == before  # the earlier build is untouched

    serving = build_db.parent / "serving"
    with duckdb.connect(str(serving / "current" / "serving.duckdb"), read_only=True) as con:
        assert con.execute("select build_id from _build").fetchone()[0] == second.build_id
    builds.switch_current(serving, first.build_id)  # what `python -m orchestration.serving rollback` does
    assert len(_served_rows(serving / "current", changed)) == before


def test_a_pruned_build_leaves_the_files_it_shared_to_the_builds_that_still_use_them(build_db: Path):
    first = _publish(build_db)
    second = _publish(build_db)
    assert all(e.get("shared_with") == first.build_id for e in second.manifest["marts"].values())
    serving = build_db.parent / "serving"
    assert builds.prune(serving, keep=1) == [first.build_id]
    assert not first.build_dir.exists()
    for mart, entry in second.manifest["marts"].items():
        assert len(_parquet_rows(second.build_dir, mart)) == entry["rows"], mart
