"""Integrity guarantee of the incremental facts (DECISIONS.md, Incremental processing).

A small generated data set (250 contacts, one landing file per source family per day) is built two ways:
day by day, with two days arriving late and out of order, each day loaded and then built incrementally by
dbt; and once, with every file, by a full rebuild. Every mart must be identical row for row. The lookback
is 0 hours so the exactness comes from the incremental predicate itself, not from a wide window.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.loads.load_table import load_table
from orchestration.lib.raw_schema import RAW_TABLES
from orchestration.settings import DBT_PROJECT_DIR

FIRST_BUILD_THROUGH = date(2024, 2, 28)
# Days delivered after the first build, in arrival order, crossing a month end (as_of_date moves into
# March): 03-01 arrives late, after 03-02.
ARRIVALS = [date(2024, 2, 29), date(2024, 3, 2), date(2024, 3, 1), date(2024, 3, 3)]
# Marts built before the CLV fit (the CLV-scored marts are rebuilt whole from these facts every run).
COMPARED = [
    "fct_orders",
    "fct_tickets",
    "fct_customer_months",
    "fct_lifecycle_transitions",
    "mart_customer_flows",
    "mart_retention_cohorts",
    "mart_post_purchase_recovery",
    "mart_relationship_health",
    "mart_relationship_health_summary",
    "mart_lifecycle_funnel",
    "mart_retention_mix",
]
BOOKKEEPING = {"_processed_through"}
_DAY = re.compile(r"_(\d{4}-\d{2}-\d{2})\.")


def _file_day(path: Path) -> date:
    found = _DAY.search(path.name)
    assert found, f"landing file {path} has no day in its name"
    return date.fromisoformat(found.group(1))


def _deliver(source: Path, landing: Path, keep) -> None:
    """Copy the landing files whose day satisfies `keep` into `landing` (same relative layout)."""
    for path in source.rglob("*.*"):
        if path.is_file() and keep(_file_day(path)):
            target = landing / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _load(db: Path, landing: Path) -> None:
    con = duckdb.connect(str(db))
    try:
        for table in RAW_TABLES:
            load_table(con, table, landing)
    finally:
        con.close()


def _dbt(db: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    from dbt.cli.main import dbtRunner

    monkeypatch.setenv("RW_DUCKDB_PATH", str(db))
    result = dbtRunner().invoke(
        [
            "run",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            # Its own target directory: the project's target/manifest.json is what other tests' runs load.
            "--target-path",
            str(db.parent / "dbt_target"),
            "--log-path",
            str(db.parent / "dbt_target"),
            "--exclude",
            "tag:clv_scored+",
            "--vars",
            '{"incremental_lookback_hours": 0}',
            "--quiet",
            *args,
        ]
    )
    failed = [r.message for r in (result.result or []) if r.status not in ("success", "pass")]
    assert result.success, f"dbt run {args} failed: {result.exception or failed}"


def _exact(value):
    """Doubles to 9 decimals: a parallel sum adds in any order, so two full builds can differ in a bit."""
    return round(value, 9) if isinstance(value, float) else value


def _marts(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db))
    try:
        tables = {}
        for name in COMPARED:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                    [name],
                ).fetchall()
                if c not in BOOKKEEPING
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f"select {select} from marts.{name} order by all").fetchall()
            tables[name] = [tuple(_exact(v) for v in row) for row in rows]
        return tables
    finally:
        con.close()


@pytest.fixture(scope="module")
def daily_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from seeds.config import GeneratorConfig
    from seeds.generate import generate

    out = tmp_path_factory.mktemp("daily_generated")
    generate(
        GeneratorConfig(
            customers=250,
            seed=7,
            start=date(2024, 1, 15),
            end=max(ARRIVALS),
            out=out,
            period="day",
            compress=False,
        )
    )
    return out / "landing"


@pytest.mark.slow
def test_day_by_day_equals_full_rebuild(daily_landing: Path, tmp_path: Path, monkeypatch) -> None:
    incremental_db, incremental_landing = tmp_path / "incremental.duckdb", tmp_path / "incremental_landing"
    _deliver(daily_landing, incremental_landing, lambda day: day <= FIRST_BUILD_THROUGH)
    _load(incremental_db, incremental_landing)
    _dbt(incremental_db, monkeypatch)
    rows_before = {name: len(rows) for name, rows in _marts(incremental_db).items()}

    for arrival in ARRIVALS:
        _deliver(daily_landing, incremental_landing, lambda day, arrival=arrival: day == arrival)
        _load(incremental_db, incremental_landing)
        _dbt(incremental_db, monkeypatch)

    full_db, full_landing = tmp_path / "full.duckdb", tmp_path / "full_landing"
    _deliver(daily_landing, full_landing, lambda day: day <= max(ARRIVALS))
    _load(full_db, full_landing)
    _dbt(full_db, monkeypatch, "--full-refresh")

    incremental, full = _marts(incremental_db), _marts(full_db)
    con = duckdb.connect(str(incremental_db))
    try:
        untouched = con.execute(
            "select count(*) from marts.fct_customer_months "
            "where _processed_through < (select max(_processed_through) from marts.fct_customer_months)"
        ).fetchone()[0]
    finally:
        con.close()
    assert untouched > 0, "the last increment rewrote every row: it was not incremental"
    assert rows_before["fct_orders"] < len(full["fct_orders"]), "the increments must add orders"
    for name in COMPARED:
        assert len(full[name]) > 0, f"{name} is empty: the comparison would prove nothing"
        missing = sorted(set(full[name]) - set(incremental[name]))[:3]
        extra = sorted(set(incremental[name]) - set(full[name]))[:3]
        assert incremental[name] == full[name], (
            f"{name}: rows only in full {missing}; only incremental {extra}"
        )
