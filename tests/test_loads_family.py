"""Orders files feed two tables (shop_orders, shop_order_lines): loaded together from one read of each file,
with the ledger semantics of a single-table load, table by table."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, materialize

from orchestration.defs.raw.assets import raw_assets
from orchestration.lib.loads import load_table, load_tables
from orchestration.lib.raw_schema import RAW_TABLES_BY_NAME
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import Settings

ORDERS = "orders/orders/orders_2024-01.jsonl"
FAMILY = [RAW_TABLES_BY_NAME["shop_orders"], RAW_TABLES_BY_NAME["shop_order_lines"]]


def order(order_id: str, n_lines: int = 1, **fields) -> str:
    record = {
        "order_id": order_id,
        "email": "a@x.com",
        "created_at": "2024-01-05T10:00:00Z",
        "status": "completed",
        "currency": "USD",
        "subtotal": 10.0,
        "total": 10.0,
        "line_items": [
            {"line_id": f"{order_id}-{i}", "product_id": "p1", "quantity": i, "unit_price": 10.0}
            for i in range(1, n_lines + 1)
        ],
    }
    return json.dumps({**record, **fields})


def put(landing: Path, relative: str, text: str) -> Path:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode()) if relative.endswith(".gz") else text.encode())
    return path


def counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int, int]:
    """(orders, order lines, quarantined rows, ledger rows)."""
    return con.execute(
        "select (select count(*) from raw.shop_orders), (select count(*) from raw.shop_order_lines), "
        "(select count(*) from raw._quarantine), (select count(*) from raw._load_ledger)"
    ).fetchone()


def statuses(reports: dict) -> dict[str, list[str]]:
    return {name: [f.status for f in report.files] for name, report in reports.items()}


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def test_one_read_loads_both_tables_and_a_rerun_adds_nothing(landing, con):
    # 3 orders with 2 + 1 + 3 lines; line 4 is broken JSON (quarantined in both tables), line 5 an order
    # with a negative quantity on its second line (the order loads, that line is quarantined).
    o5 = json.loads(order("o5", 2))
    o5["line_items"][1]["quantity"] = -2
    put(
        landing,
        ORDERS,
        "\n".join([order("o1", 2), order("o2"), order("o3", 3), "{broken", json.dumps(o5)]) + "\n",
    )
    reports = load_tables(con, FAMILY, landing)
    assert statuses(reports) == {"shop_orders": ["loaded"], "shop_order_lines": ["loaded"]}
    orders, lines = reports["shop_orders"].files[0], reports["shop_order_lines"].files[0]
    assert (orders.rows_in_file, orders.rows_accepted, orders.rows_quarantined) == (5, 4, 1)
    # lines: 2 + 1 + 3 + 2 elements, plus the broken line counted once
    assert (lines.rows_in_file, lines.rows_accepted, lines.rows_quarantined) == (9, 7, 2)
    assert con.execute(
        "select table_name, line, column_name from raw._quarantine order by 1, 2"
    ).fetchall() == [
        ("shop_order_lines", 4, None),
        ("shop_order_lines", 5, "quantity"),
        ("shop_orders", 4, None),
    ]
    assert con.execute(
        "select _line, count(*) from raw.shop_order_lines group by 1 order by 1"
    ).fetchall() == [
        (1, 2),
        (2, 1),
        (3, 3),
        (5, 1),
    ]
    before = counts(con)
    assert before == (4, 7, 3, 2)
    again = load_tables(con, FAMILY, landing)
    assert statuses(again) == {"shop_orders": ["already_loaded"], "shop_order_lines": ["already_loaded"]}
    assert counts(con) == before


def test_a_changed_file_replaces_its_rows_in_both_tables(landing, con):
    put(landing, ORDERS, order("o1", 2) + "\n" + order("o2") + "\n")
    load_tables(con, FAMILY, landing)
    put(landing, ORDERS, order("o1", 1) + "\n")  # re-exported: one order with one line
    reports = load_tables(con, FAMILY, landing)
    assert statuses(reports) == {
        "shop_orders": ["changed_after_load"],
        "shop_order_lines": ["changed_after_load"],
    }
    assert "its 2 earlier rows were replaced" in reports["shop_orders"].files[0].message
    assert "its 3 earlier rows were replaced" in reports["shop_order_lines"].files[0].message
    assert con.execute("select line_id from raw.shop_order_lines").fetchall() == [("o1-1",)]
    assert counts(con)[:2] == (1, 1)


def test_same_content_under_another_name_is_skipped_in_both_tables(landing, con):
    put(landing, ORDERS, order("o1", 2) + "\n")
    load_tables(con, FAMILY, landing)
    put(landing, "orders/orders/orders_2024-01-resent.jsonl", order("o1", 2) + "\n")
    reports = load_tables(con, FAMILY, landing)
    assert statuses(reports) == {
        "shop_orders": ["skipped_duplicate_content", "already_loaded"],  # files in name order
        "shop_order_lines": ["skipped_duplicate_content", "already_loaded"],
    }
    assert counts(con)[:2] == (1, 2)


def test_a_table_that_already_holds_the_file_is_skipped_and_the_other_loaded(landing, con):
    put(landing, ORDERS, order("o1", 3) + "\n")
    load_table(con, FAMILY[0], landing)  # an earlier load of the orders alone
    reports = load_tables(con, FAMILY, landing)
    assert statuses(reports) == {"shop_orders": ["already_loaded"], "shop_order_lines": ["loaded"]}
    assert counts(con)[:2] == (1, 3)


def test_an_unreadable_file_is_rejected_for_both_tables_in_one_go(landing, con):
    path = put(landing, ORDERS + ".gz", order("o1") + "\n")
    path.write_bytes(path.read_bytes()[:-12])  # truncated in transfer
    reports = load_tables(con, FAMILY, landing)
    assert statuses(reports) == {"shop_orders": ["rejected"], "shop_order_lines": ["rejected"]}
    assert "could not be read as shop_orders and shop_order_lines" in reports["shop_orders"].files[0].message
    assert counts(con) == (0, 0, 0, 2)
    # Rejected files are read again on the next run, and recorded again only if the outcome changed.
    load_tables(con, FAMILY, landing)
    assert counts(con) == (0, 0, 0, 2)


def test_tables_of_different_files_are_not_loaded_together(landing, con):
    landing.mkdir()
    with pytest.raises(ValueError, match="not loaded from the same files"):
        load_tables(con, [FAMILY[0], RAW_TABLES_BY_NAME["shop_refunds"]], landing)


def test_the_orders_asset_can_load_one_of_its_tables_alone(landing, tmp_path):
    put(landing, ORDERS, order("o1", 2) + "\n")
    [asset] = [a for a in raw_assets if AssetKey(["raw", "shop_order_lines"]) in a.keys]
    result = materialize(
        [asset],
        selection=[AssetKey(["raw", "shop_order_lines"])],
        resources={
            "warehouse": DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
            "settings": Settings(landing_dir=landing),
        },
    )
    assert [m.asset_key.path[-1] for m in result.asset_materializations_for_node(asset.op.name)] == [
        "shop_order_lines"
    ]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert con.execute("select table_name, rows_accepted from raw._load_ledger").fetchall() == [
            ("shop_order_lines", 2)
        ]
