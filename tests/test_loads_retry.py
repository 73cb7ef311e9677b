"""A transient failure of a raw load (the DuckDB file locked by another process) is retried with backoff
and the load then succeeds; a rejected file is not retried (tests/test_loads.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
from dagster import Backoff, Jitter, RetryPolicy, materialize

from orchestration import resources
from orchestration.defs.raw.assets import RAW_LOAD_RETRY, raw_assets, raw_load_asset
from orchestration.lib.raw_schema import RAW_TABLES_BY_NAME
from orchestration.resources import DuckDBWarehouse, connect_with_retry
from orchestration.settings import Settings

ORDERS = "orders/orders/orders_2024-01.jsonl"
HOLD_LOCK = """
import sys, time, duckdb
from pathlib import Path
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
deadline = time.monotonic() + 30
while not Path(sys.argv[2]).exists() and time.monotonic() < deadline:
    time.sleep(0.05)
"""


def test_every_raw_load_retries_with_exponential_backoff_and_jitter():
    assert RAW_LOAD_RETRY.backoff is Backoff.EXPONENTIAL and RAW_LOAD_RETRY.jitter is not None
    assert RAW_LOAD_RETRY.max_retries >= 1 and RAW_LOAD_RETRY.delay
    assert {a.op.retry_policy for a in raw_assets} == {RAW_LOAD_RETRY}


def test_a_load_blocked_by_the_database_lock_is_retried_and_succeeds(tmp_path: Path, monkeypatch):
    landing = tmp_path / "landing"
    (landing / ORDERS).parent.mkdir(parents=True)
    line_items = [{"line_id": "o1-1", "product_id": "p1", "quantity": 1, "unit_price": 10.0}]
    record = {
        "order_id": "o1",
        "email": "a@x.com",
        "created_at": "2024-01-05T10:00:00Z",
        "status": "completed",
        "currency": "USD",
        "subtotal": 10.0,
        "total": 10.0,
        "line_items": line_items,
    }
    (landing / ORDERS).write_text(json.dumps(record) + "\n")
    database, release = tmp_path / "w.duckdb", tmp_path / "release"
    # Another process holds the database until the load has failed on its lock once. connect() gives up
    # at once here, so the asset's retry policy is what waits out the lock: the production policy with
    # the delays of a test (about 0.5, 1.5, 3.5, 7.5 s).
    monkeypatch.setattr(resources, "LOCK_RETRY_SECONDS", ())
    lock_errors = []

    def connect_and_note_lock_errors(path, read_only=False):
        try:
            return connect_with_retry(path, read_only)
        except duckdb.IOException as exc:
            lock_errors.append(str(exc))
            release.touch()
            raise

    monkeypatch.setattr(resources, "connect_with_retry", connect_and_note_lock_errors)
    fast = RetryPolicy(max_retries=4, delay=0.5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
    asset = raw_load_asset([RAW_TABLES_BY_NAME["shop_orders"], RAW_TABLES_BY_NAME["shop_order_lines"]], fast)

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(database), str(release)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = materialize(
            [asset],
            resources={
                "warehouse": DuckDBWarehouse(path=str(database)),
                "settings": Settings(landing_dir=landing),
            },
            raise_on_error=False,
        )
    finally:
        release.touch()
        holder.wait(timeout=30)

    assert lock_errors and "lock" in lock_errors[0].lower()
    assert result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == len(lock_errors)  # every failed attempt was retried, none recorded a rejection
    assert {m.asset_key.path[-1] for m in result.asset_materializations_for_node(asset.op.name)} == {
        "shop_orders",
        "shop_order_lines",
    }
    with duckdb.connect(str(database)) as con:
        assert con.execute(
            "select table_name, status, rows_accepted from raw._load_ledger order by 1"
        ).fetchall() == [("shop_order_lines", "loaded", 1), ("shop_orders", "loaded", 1)]
