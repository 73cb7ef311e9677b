"""The order contract's optional parts (docs/source_schema.md): `email` is required only when `customer_id` is
null, and `line_items` may be absent or null (an export of order headers only)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_loads import ORDERS, load_all, order, rows, write

from orchestration.lib.quality.raw_frames import RawRows, load_health_frame
from orchestration.lib.raw_schema import RAW_TABLES_BY_NAME

LINES = RAW_TABLES_BY_NAME["shop_order_lines"]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def test_an_order_needs_a_customer_id_or_an_email(landing, con):
    write(
        landing,
        ORDERS,
        "\n".join(
            [
                order("o1"),  # both
                order("o2", email=None),  # a customer id only: loads
                order("o3", customer_id=None),  # a guest's email only: loads
                order("o4", customer_id=None, email=None),  # neither: quarantined
                order(
                    "o5", customer_id="", email=" "
                ),  # empty id and a blank email: an email, loads as typed
            ]
        )  # fmt: skip
        + "\n",
    )
    load_all(con, landing)
    assert rows(con, "select order_id, customer_id, email from raw.shop_orders order by 1") == [
        ("o1", "c1", "a@x.com"),
        ("o2", "c1", None),
        ("o3", None, "a@x.com"),
        ("o5", None, " "),
    ]
    assert rows(con, "select table_name, line, column_name, reason from raw._quarantine") == [
        ("shop_orders", 4, "email", "required value is missing: neither customer_id nor email is given")
    ]


def test_an_order_without_line_items_loads_and_a_non_array_is_quarantined(landing, con):
    write(
        landing,
        ORDERS,
        "\n".join(
            [
                order("o1"),
                json.dumps({k: v for k, v in json.loads(order("o2")).items() if k != "line_items"}),  # absent
                order("o3", line_items=None),  # null
                order("o4", line_items="p1 x1"),  # not an array
            ]
        )  # fmt: skip
        + "\n",
    )
    load_all(con, landing)
    assert rows(con, "select order_id from raw.shop_orders order by 1") == [
        ("o1",),
        ("o2",),
        ("o3",),
        ("o4",),
    ]
    assert rows(con, "select order_id, line_id from raw.shop_order_lines") == [("o1", "o1-1")]
    assert rows(con, "select table_name, line, column_name, reason from raw._quarantine") == [
        ("shop_order_lines", 4, "line_items", "line_items is not a JSON array")
    ]
    ledger = rows(
        con,
        "select rows_in_file, rows_accepted, rows_quarantined from raw._load_ledger "
        "where table_name = 'shop_order_lines'",
    )
    assert ledger == [(2, 1, 1)]


def test_headers_only_files_leave_the_order_line_checks_nothing_to_block(landing, con):
    """Volume: six monthly files of 100 order lines, then one of none (the shop stopped exporting lines): the
    lines' volume rule does not judge it (the orders' does). Rows: a file that added no lines is no batch."""
    names = [f"orders/orders/orders_2025-0{i}.jsonl" for i in range(1, 8)]
    rows_in_file = [100] * 6 + [0]
    current = pd.DataFrame({"file": names, "status": "loaded", "rows_in_file": rows_in_file})
    pending = pd.DataFrame(
        {"file": names[6:], "status": "loaded", "message": None, "rows_in_file": [0], "rows_accepted": [0],
         "rows_quarantined": [0]}
    )  # fmt: skip
    counts = {c.name: rows_in_file[:6] for c in LINES.columns}
    profiles = pd.DataFrame({"file": names[:6], "raw_rows": rows_in_file[:6], "repeated_rows": 0, **counts})
    quarantine = pd.DataFrame(columns=["file", "rows", "top_reason"])
    frame = load_health_frame(current, pending, profiles, quarantine, LINES).set_index("file")
    assert pd.isna(frame.loc[names[6], "rows_vs_recent"]) and frame.loc[names[6], "emptied_column_count"] == 0

    headers_only = json.dumps({k: v for k, v in json.loads(order("o1")).items() if k != "line_items"})
    write(landing, ORDERS, headers_only + "\n")
    load_all(con, landing)
    assert RawRows(LINES).batches(con) == []
    assert len(RawRows(RAW_TABLES_BY_NAME["shop_orders"]).batches(con)) == 1
