"""A family's new files are read and checked in one batch, then committed file by file: the raw tables,
quarantine (file, line, column, reason) and ledger equal those of loading each file alone, a failure
between two files leaves whole files, and a rerun loads nothing twice."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest
from test_loads_family import order
from test_loads_family import put as put_text

import orchestration.lib.loads.load_table  # noqa: F401 (the module: the package exports a function of its name)
from orchestration.lib.loads import load_batch, load_table, load_tables
from orchestration.lib.raw_schema import RAW_TABLES_BY_NAME

CONTACTS = RAW_TABLES_BY_NAME["crm_contacts"]
ORDERS = [RAW_TABLES_BY_NAME["shop_orders"], RAW_TABLES_BY_NAME["shop_order_lines"]]
HEADER = "contact_id,email,segment,created_at,updated_at"


def contact(i: int, segment: str = "smb", created: str = "2024-01-01T00:00:00Z") -> str:
    return f"c{i},c{i}@x.com,{segment},{created},2024-01-02T00:00:00Z"


def put(landing: Path, relative: str, lines: list[str]) -> None:
    put_text(landing, relative, "\n".join(lines) + "\n")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """Three contacts files and five orders files, with bad records in each; the fifth repeats the first."""
    landing = tmp_path / "landing"
    put(
        landing,
        "crm/contacts/contacts_2024-01.csv",
        [HEADER, contact(1), "", contact(2, "galactic"), contact(3)],
    )
    put(landing, "crm/contacts/contacts_2024-02.csv.gz", [HEADER, contact(5), "c6,x", 'c4,"c4@x.com,smb'])
    put(landing, "crm/contacts/contacts_2024-03.csv", [HEADER, contact(7, created="2024-02-30T00:00:00Z")])
    orders = "orders/orders/orders_2024-0"
    put(
        landing, f"{orders}1.jsonl", [order("o1"), '{"order_id": "o2", "created_at": "2024-01-0', order("o3")]
    )
    put(landing, f"{orders}2.jsonl.gz", ["", order("o4", currency="XXX"), order("o5", gift_wrap="yes")])
    put(landing, f"{orders}3.jsonl", [order("o6", line_items=[{"line_id": "l", "quantity": -1}]), "[1]"])
    put(landing, f"{orders}4.jsonl", [json.dumps({"order_id": "o7", "email": "b@x.com"})])  # no currency
    (landing / f"{orders}5.jsonl").write_bytes((landing / f"{orders}1.jsonl").read_bytes())  # a duplicate
    return landing


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every raw table, the quarantine and the ledger, without load times, in a stable order."""
    tables = ["crm_contacts", "shop_orders", "shop_order_lines"]
    out = {
        t: con.execute(f"select * exclude (_loaded_at) from raw.{t} order by all").fetchall() for t in tables
    }
    out["quarantine"] = con.execute(
        "select * exclude (loaded_at) from raw._quarantine order by all"
    ).fetchall()
    out["ledger"] = con.execute("select * exclude (loaded_at) from raw._load_ledger order by all").fetchall()
    return out


def load_all(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    load_table(con, CONTACTS, landing)
    load_tables(con, ORDERS, landing)


def test_a_batch_equals_loading_each_file_alone(landing: Path, tmp_path: Path, monkeypatch):
    reads = []
    stage = load_batch.stage
    monkeypatch.setattr(
        load_batch, "stage", lambda con, paths, tables: reads.append(paths) or stage(con, paths, tables)
    )
    with duckdb.connect(str(tmp_path / "batch.duckdb")) as con:
        load_all(con, landing)
        batched = snapshot(con)
    assert [len(paths) for paths in reads] == [3, 4]  # one read per family

    monkeypatch.setattr(
        sys.modules["orchestration.lib.loads.load_table"], "BATCH_BYTES", 1
    )  # every file its own batch
    reads.clear()
    with duckdb.connect(str(tmp_path / "alone.duckdb")) as con:
        load_all(con, landing)
        alone = snapshot(con)
    assert [len(paths) for paths in reads] == [1] * 7
    assert batched == alone


def test_quarantine_and_ledger_of_a_batch_are_the_hand_worked_ones(landing: Path, tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        load_all(con, landing)
        quarantine = con.execute(
            "select table_name, file, line, column_name, reason from raw._quarantine order by all"
        ).fetchall()
        ledger = con.execute(
            "select table_name, file, rows_in_file, rows_accepted, rows_quarantined, status "
            "from raw._load_ledger order by all"
        ).fetchall()
        contacts = con.execute(
            "select contact_id, _file, _line from raw.crm_contacts order by all"
        ).fetchall()
    c1, c2, c3 = (
        f"crm/contacts/contacts_2024-0{m}" + ext for m, ext in ((1, ".csv"), (2, ".csv.gz"), (3, ".csv"))
    )
    o1, o2, o3, o4, o5 = (
        f"orders/orders/orders_2024-0{m}.jsonl" + ("" if m != 2 else ".gz") for m in range(1, 6)
    )
    assert contacts == [("c1", c1, 2), ("c3", c1, 5), ("c5", c2, 2)]  # line 3 of c1 is blank
    reasons = {(t, f, line, col): reason for t, f, line, col, reason in quarantine}
    structure = {(t, f, line): reason for t, f, line, _, reason in quarantine}
    assert (
        reasons[("crm_contacts", c1, 4, "segment")] == "'galactic' is not one of: smb, mid_market, enterprise"
    )
    assert structure[("crm_contacts", c2, 4)].startswith("unbalanced or misplaced quote")
    assert structure[("crm_contacts", c2, 3)].startswith("wrong number of fields")
    assert (
        reasons[("crm_contacts", c3, 2, "created_at")]
        == "'2024-02-30T00:00:00Z' is not a valid ISO-8601 timestamp"
    )
    assert reasons[("shop_orders", o1, 2, None)] == "not valid JSON (a truncated or malformed line)"
    assert reasons[("shop_order_lines", o1, 2, None)] == "not valid JSON (a truncated or malformed line)"
    assert reasons[("shop_orders", o2, 2, "currency")] == "'XXX' is not one of: USD, EUR, GBP"
    assert reasons[("shop_orders", o3, 2, None)] == "not a JSON object"
    assert len(quarantine) == 8
    assert ledger == [
        ("crm_contacts", c1, 3, 2, 1, "loaded"),
        ("crm_contacts", c2, 3, 1, 2, "loaded"),
        ("crm_contacts", c3, 1, 0, 1, "loaded"),
        ("shop_order_lines", o1, 3, 2, 1, "loaded"),
        ("shop_order_lines", o2, 2, 2, 0, "loaded"),
        ("shop_order_lines", o3, None, None, None, "rejected"),  # no item has a product_id
        ("shop_order_lines", o4, 0, 0, 0, "loaded"),
        ("shop_order_lines", o5, None, None, None, "skipped_duplicate_content"),
        ("shop_orders", o1, 3, 2, 1, "loaded"),
        ("shop_orders", o2, 2, 1, 1, "loaded"),
        ("shop_orders", o3, 2, 1, 1, "loaded"),
        ("shop_orders", o4, None, None, None, "rejected"),
        ("shop_orders", o5, None, None, None, "skipped_duplicate_content"),
    ]
    assert "gift_wrap" in {
        r[0]
        for r in duckdb.connect(str(tmp_path / "w.duckdb"))
        .execute("select column_name from information_schema.columns where table_name = 'shop_orders'")
        .fetchall()
    }


def test_a_failure_between_files_leaves_whole_files_and_a_rerun_loads_nothing_twice(
    landing: Path, tmp_path: Path, monkeypatch
):
    with duckdb.connect(str(tmp_path / "clean.duckdb")) as con:
        load_all(con, landing)
        clean = snapshot(con)

    commit_file = load_batch.commit_file

    def crash_on_the_second_orders_file(con, plan, *args, **kwargs):
        if plan.file.endswith("orders_2024-02.jsonl.gz"):
            raise KeyboardInterrupt("killed between files")
        return commit_file(con, plan, *args, **kwargs)

    monkeypatch.setattr(load_batch, "commit_file", crash_on_the_second_orders_file)
    database = str(tmp_path / "crashed.duckdb")
    with duckdb.connect(database) as con:
        load_table(con, CONTACTS, landing)
        with pytest.raises(KeyboardInterrupt):
            load_tables(con, ORDERS, landing)
        files = con.execute("select distinct _file from raw.shop_orders").fetchall()
        ledger = con.execute(
            "select distinct file from raw._load_ledger where table_name = 'shop_orders'"
        ).fetchall()
        assert files == ledger == [("orders/orders/orders_2024-01.jsonl",)]

    monkeypatch.setattr(load_batch, "commit_file", commit_file)
    with duckdb.connect(database) as con:
        load_all(con, landing)
        load_all(con, landing)  # and once more: nothing new
        assert {k: v for k, v in snapshot(con).items() if k != "ledger"} == {
            k: v for k, v in clean.items() if k != "ledger"
        }
        # The rejected orders file is recorded once however many runs retry it.
        assert sorted(snapshot(con)["ledger"]) == sorted(clean["ledger"])


def test_a_corrupt_file_in_a_batch_is_rejected_alone_with_the_readers_reason(landing: Path, tmp_path: Path):
    corrupt = landing / "crm/contacts/contacts_2024-02.csv.gz"
    corrupt.write_bytes(corrupt.read_bytes()[:-12])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        report = load_table(con, CONTACTS, landing)
    statuses = {f.file: f.status for f in report.files}
    assert statuses == {
        "crm/contacts/contacts_2024-01.csv": "loaded",
        "crm/contacts/contacts_2024-02.csv.gz": "rejected",
        "crm/contacts/contacts_2024-03.csv": "loaded",
    }
    [rejected] = report.rejected
    assert rejected.message.startswith(
        "crm/contacts/contacts_2024-02.csv.gz: could not be read as crm_contacts"
    )
    assert report.row_count == 2
