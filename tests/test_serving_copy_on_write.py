"""Publishing only what changed: a mart whose content did not change shares the previous build's Parquet file
(a hard link, same inode) and its table comes with the copy of the previous serving.duckdb; a changed mart
is written again; every build still serves exactly the rows of the build database, and rolling back to the
earlier build still serves the earlier rows. Uses the small hand-made build DB of test_serving.py."""

from __future__ import annotations

import json
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
    """Every row of the mart's Parquet file, or of its month files for a fact served per month."""
    with duckdb.connect() as con:
        path = str(
            build_dir / json.loads((build_dir / "manifest.json").read_text())["marts"][mart]["parquet"]
        )
        return sorted(con.execute("select * from read_parquet(?)", [path]).fetchall(), key=repr)


def _files(build_dir: Path, mart: str) -> dict[str, int]:
    """{file name: inode} of the mart's Parquet files."""
    pattern = json.loads((build_dir / "manifest.json").read_text())["marts"][mart]["parquet"]
    return {str(p.relative_to(build_dir)): os.stat(p).st_ino for p in build_dir.glob(pattern)}


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
        assert _files(first.build_dir, mart) == _files(second.build_dir, mart), mart  # one file, two builds
    assert _files(first.build_dir, changed) != _files(second.build_dir, changed)

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


def test_a_fact_served_per_month_rewrites_only_the_months_that_changed(build_db: Path):
    """fct_customer_months (six months, 120 customers each) is served as one file per month. Change March,
    drop June, add July, and rewrite every row's bookkeeping column: the next build writes March and July
    only, links January, February, April and May, removes June, and serves exactly the build database's
    rows (the DuckDB table updated in place of the copy, the Parquet files alike); the earlier build is
    untouched."""
    mart = "fct_customer_months"
    with duckdb.connect(str(build_db)) as con:
        con.execute(f"alter table marts.{mart} add column _processed_through timestamp")
        con.execute(f"update marts.{mart} set _processed_through = timestamp '2024-06-15 00:00:00'")
    first = _publish(build_db)
    months = first.manifest["marts"][mart]["partitions"]
    assert sorted(months) == [f"2024-0{m}-01" for m in range(1, 7)]
    assert sorted(_files(first.build_dir, mart)) == [
        f"parquet/{mart}/2024-0{m}-01.parquet" for m in range(1, 7)
    ]
    assert "_processed_through" not in {c["name"] for c in first.manifest["marts"][mart]["columns"]}

    with duckdb.connect(str(build_db)) as con:
        con.execute(
            f"update marts.{mart} set orders = 2 where month_start = date '2024-03-01' and orders = 1"
        )
        con.execute(f"delete from marts.{mart} where month_start = date '2024-06-01'")
        con.execute(
            f"insert into marts.{mart} select * replace (date '2024-07-01' as month_start, "
            f"date '2024-07-31' as month_end) from marts.{mart} where month_start = date '2024-05-01'"
        )
        con.execute(f"update marts.{mart} set _processed_through = timestamp '2024-07-15 00:00:00'")
        expected = sorted(
            # The guest's id is served re-hashed with the salt (pii.py).
            con.execute(
                "select * exclude (_processed_through) replace (case when starts_with(customer_id, 'g-') "
                f"then 'g-' || sha256('{SALT}' || customer_id) else customer_id end as customer_id) "
                f"from marts.{mart}"
            ).fetchall(),
            key=repr,
        )
    second = _publish(build_db)

    entry = second.manifest["marts"][mart]
    assert "shared_with" not in entry and entry["rows"] == len(expected) == 720
    written = {
        label for label, month in entry["partitions"].items() if month["written_by"] == second.build_id
    }
    assert written == {"2024-03-01", "2024-07-01"}
    old, new = _files(first.build_dir, mart), _files(second.build_dir, mart)
    for label in ("2024-01-01", "2024-02-01", "2024-04-01", "2024-05-01"):
        assert old[f"parquet/{mart}/{label}.parquet"] == new[f"parquet/{mart}/{label}.parquet"], label
    assert f"parquet/{mart}/2024-06-01.parquet" not in new and len(new) == 6
    assert _served_rows(second.build_dir, mart) == expected == _parquet_rows(second.build_dir, mart)
    assert len(_served_rows(first.build_dir, mart)) == 720
    assert {r[1].month for r in _served_rows(first.build_dir, mart)} == {1, 2, 3, 4, 5, 6}

    # Only the bookkeeping column changes: nothing is written again.
    with duckdb.connect(str(build_db)) as con:
        con.execute(f"update marts.{mart} set _processed_through = timestamp '2024-07-16 00:00:00'")
    third = _publish(build_db)
    assert third.manifest["marts"][mart]["shared_with"] == second.build_id
    assert _files(third.build_dir, mart) == new
