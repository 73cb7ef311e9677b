"""Publishing the marts: every mart served read-only in the old storage format, PII masked, builds kept and
rolled back, and the Dagster asset stopped by a failing blocking check. Uses a small hand-made build DB."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckResult, AssetKey, asset, asset_check, materialize
from serving_fixture import GUEST_EMAIL, SALT, make_build_db

from orchestration.defs.serving.assets import published_marts
from orchestration.lib.serving import builds
from orchestration.lib.serving.pii import PiiError, plan_columns
from orchestration.lib.serving.publish import publish_marts
from orchestration.lib.serving.storage import storage_number
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def build_db(tmp_path: Path) -> Path:
    return make_build_db(tmp_path / "build.duckdb")


def _publish(build_db: Path, **kw):
    root = build_db.parent
    return publish_marts(build_db, root / "serving", root / "reports", salt=SALT, dbt_docs=False, **kw)


def _marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    sql = "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
    return [r[0] for r in con.execute(sql).fetchall()]


def test_publish_serves_every_mart_and_only_the_marts(build_db: Path):
    done = _publish(build_db)
    serving = build_db.parent / "serving"
    assert os.readlink(serving / "current") == f"builds/{done.build_id}"
    served = serving / "current" / "serving.duckdb"
    assert storage_number(served) == 64  # readable by DuckDB 0.10 .. 2.x
    # Published files are immutable: no write bit for anyone.
    assert all(
        p.stat().st_mode & 0o222 == 0 for p in (serving / "current").resolve().rglob("*") if p.is_file()
    )

    with (
        duckdb.connect(str(build_db), read_only=True) as src,
        duckdb.connect(str(served), read_only=True) as srv,
    ):
        marts = _marts(src)
        assert _marts(srv) == marts and len(marts) == 9  # the fixture's marts (serving_fixture.py)
        schemas = {
            r[0]
            for r in srv.execute("select distinct table_schema from information_schema.tables").fetchall()
        }
        assert schemas == {"marts", "main"}  # marts plus the one-row _build table
        assert srv.execute("select build_id, as_of_date::varchar from _build").fetchall() == [
            (done.build_id, "2024-06-15")
        ]
        for mart in marts:
            rows = src.execute(f"select count(*) from marts.{mart}").fetchone()[0]
            assert srv.execute(f"select count(*) from marts.{mart}").fetchone()[0] == rows
            assert done.manifest["marts"][mart]["rows"] == rows
            # One file per mart, or per month for a fact with a month column (fct_customer_months here).
            served_per_month = mart == "fct_customer_months"
            parquet = f"parquet/{mart}/*.parquet" if served_per_month else f"parquet/{mart}.parquet"
            assert done.manifest["marts"][mart]["parquet"] == parquet
            parquet = str(serving / "current" / parquet)
            assert srv.execute("select count(*) from read_parquet(?)", [parquet]).fetchone()[0] == rows
            kv = srv.execute("select value from parquet_kv_metadata(?) where key = 'build_id'", [parquet])
            assert {v.decode() for (v,) in kv.fetchall()} == {done.build_id}

    manifest = json.loads((serving / "current" / "manifest.json").read_text())
    assert manifest["build_id"] == done.build_id
    assert manifest["as_of_date"] == "2024-06-15"
    assert manifest["as_of_date_source"] == "intermediate.int_clv__settings"
    assert (serving / "current" / manifest["report"]).is_file()
    assert (build_db.parent / "reports" / "report.html").read_bytes() == (
        serving / "current" / "report.html"
    ).read_bytes()
    assert not list(serving.glob("current/*.wal"))


def test_personal_columns_are_hashed_with_the_salt_or_dropped(
    build_db: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level("DEBUG")
    done = _publish(build_db)
    served = build_db.parent / "serving" / "current" / "serving.duckdb"

    def sha(value: str) -> str:
        return hashlib.sha256((SALT + value).encode()).hexdigest()

    guest = "g-" + hashlib.md5(GUEST_EMAIL.encode()).hexdigest()
    with (
        duckdb.connect(str(build_db), read_only=True) as src,
        duckdb.connect(str(served), read_only=True) as srv,
    ):
        columns = [r[0] for r in srv.execute("describe marts.dim_customers").fetchall()]
        assert columns == ["customer_id", "acquisition_channel", "email", "account_manager", "order_count"]
        clear = src.execute("select customer_id, email, account_manager from marts.dim_customers").fetchall()
        expected = {("g-" + sha(c) if c == guest else c, sha(e), sha(m)) for c, e, m in clear}
        assert set(
            srv.execute("select customer_id, email, account_manager from marts.dim_customers").fetchall()
        ) == (expected)
        # The guest's id is re-hashed the same way in every mart, so marts still join on customer_id.
        joined = srv.execute(
            "select count(*) from marts.dim_customers join marts.mart_customer_value using (customer_id)"
        ).fetchone()[0]
        assert joined == 120
    assert guest in {c for c, _, _ in clear}
    assert done.manifest["marts"]["dim_customers"]["masked"] == {
        "customer_id": "hash_guest",
        "email": "hash",
        "first_name": "drop",
        "last_name": "drop",
        "phone": "drop",
        "account_manager": "hash",
    }
    # The salt is a secret: never in the manifest, the report or the log.
    current = build_db.parent / "serving" / "current"
    assert SALT not in (current / "manifest.json").read_text()
    assert SALT not in (current / "report.html").read_text()
    assert SALT not in caplog.text


def test_an_undecided_personal_column_stops_the_publish_before_anything_is_written(build_db: Path):
    first = _publish(build_db)
    with duckdb.connect(str(build_db)) as con:
        con.execute(
            "create table marts.fct_orders as select 'o1' as order_id, '+44 20 7946 0000' as billing_phone"
        )
    with pytest.raises(PiiError, match=r"marts\.fct_orders\.billing_phone \(looks like phone\)"):
        _publish(build_db)
    serving = build_db.parent / "serving"
    assert builds.current_build(serving) == first.build_id
    assert builds.list_builds(serving) == [first.build_id]
    assert not list((serving / "builds").glob(".tmp-*"))


def test_email_addresses_in_a_column_with_an_innocent_name_are_refused(build_db: Path):
    first = _publish(build_db)
    with duckdb.connect(str(build_db)) as con:
        con.execute(
            "create table marts.fct_notes as select 'n1' as note_id, 'jane.doe@example.org' as contact"
        )
    with pytest.raises(PiiError, match=r"marts\.fct_notes columns \['contact'\]"):
        _publish(build_db)
    serving = build_db.parent / "serving"
    assert builds.current_build(serving) == first.build_id
    assert builds.list_builds(serving) == [first.build_id]
    assert not list((serving / "builds").glob(".tmp-*"))  # the refused build was removed at once


def test_pii_patterns_leave_ordinary_columns_alone():
    names = ["acquisition_channel", "channel", "promo_code", "referral_code", "customer_type", "email"]
    plans = plan_columns("m", [(n, "VARCHAR") for n in names] + [("referrer_customer_id", "VARCHAR")])
    assert [(p.name, p.action) for p in plans if p.action] == [
        ("email", "hash"),
        ("referrer_customer_id", "hash_guest"),
    ]
    assert plan_columns("m", [("customer_id", "BIGINT")])[0].action is None  # integer ids are no email hash
    with pytest.raises(PiiError, match="customer_full_name"):
        plan_columns("m", [("customer_full_name", "VARCHAR")])


def _cli(serving: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.serving", "--serving-dir", str(serving),
         "--reports-dir", str(serving.parent / "reports"), *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_keeps_the_last_builds_and_rolls_back_with_one_command(build_db: Path):
    ids = [_publish(build_db, keep=2).build_id for _ in range(3)]
    serving = build_db.parent / "serving"
    assert ids == sorted(ids)  # build ids sort in publish order
    assert builds.list_builds(serving) == ids[1:]  # the oldest was pruned
    assert builds.current_build(serving) == ids[2]

    done = _cli(serving, "rollback")
    assert done.returncode == 0, done.stderr
    assert builds.current_build(serving) == ids[1]
    with duckdb.connect(str(serving / "current" / "serving.duckdb"), read_only=True) as con:
        assert con.execute("select build_id from _build").fetchone()[0] == ids[1]
    listing = _cli(serving, "list").stdout.splitlines()
    assert [(line[0], line[2:].split()[0]) for line in listing] == [("*", ids[1]), (" ", ids[2])]

    nothing_older = _cli(serving, "rollback")
    assert nothing_older.returncode != 0 and "no build older than" in nothing_older.stderr
    assert _cli(serving, "rollback", "--to", ids[2]).returncode == 0
    assert builds.current_build(serving) == ids[2]


def _resources(build_db: Path) -> dict:
    root = build_db.parent
    return {
        "warehouse": DuckDBWarehouse(path=str(build_db)),
        "settings": Settings(
            serving_dir=root / "serving", reports_dir=root / "reports", pii_salt=SALT, publish_dbt_docs=False
        ),
    }


def _published(result) -> list:
    key = AssetKey(["serving", "published_marts"])
    return [e for e in result.get_asset_materialization_events() if e.asset_key == key]


def test_the_asset_publishes_and_links_the_report(build_db: Path):
    result = materialize([published_marts], resources=_resources(build_db))
    assert result.success
    (event,) = _published(result)
    meta = event.materialization.metadata
    current = builds.current_build(build_db.parent / "serving")
    assert meta["build_id"].value == current
    report = Path(meta["report_path"].value)
    assert report.is_file() and meta["report"].value == report.as_uri()
    assert meta["rows_per_mart"].value["dim_customers"] == 120


def test_a_failed_blocking_check_on_a_mart_stops_the_publish(build_db: Path):
    @asset(key=AssetKey(["dim_customers"]))
    def dim_customers() -> None:
        """Stands in for the dbt mart of the same key."""

    @asset_check(asset=dim_customers, blocking=True)
    def customers_are_valid() -> AssetCheckResult:
        return AssetCheckResult(passed=False)

    result = materialize(
        [dim_customers, customers_are_valid, published_marts],
        resources=_resources(build_db),
        raise_on_error=False,
    )
    assert not result.success
    assert _published(result) == []
    assert builds.current_build(build_db.parent / "serving") is None
