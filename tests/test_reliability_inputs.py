"""The bad-input catalogue (docs/bad_input_catalogue.md) at the loader level: each class of bad landing file
gets a clear error naming file, row and column, a quarantine row with the reason, or a documented repair,
and never crashes a load halfway or disappears. Classes already tested in tests/test_loads.py are not
repeated here (the catalogue names the test); staging repairs are checked on a pipeline build in
tests/test_reliability_faults.py.

Every test also checks the file's books balance: rows in file = accepted + quarantined (ledger_balanced).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.loads import load_table
from orchestration.lib.raw_schema import RAW_TABLES_BY_NAME

CONTACTS = "crm/contacts/contacts_2024-01.csv"
ORDERS = "orders/orders/orders_2024-01.jsonl"
HEADER = "contact_id,email,first_name,segment,acquisition_channel,marketing_opt_in,created_at,updated_at"
ROW = "{id},{id}@x.com,{name},smb,organic,true,2024-01-01T10:00:00Z,2024-01-01T10:00:00Z"
HOSTILE = "'); drop table raw.shop_orders; --"


def contact(contact_id: str, name: str = "Ann") -> str:
    return ROW.format(id=contact_id, name=name)


def order(order_id: str | None, **fields) -> str:
    record = {
        "order_id": order_id, "customer_id": "c1", "email": "a@x.com", "created_at": "2024-01-05T10:00:00Z",
        "status": "completed", "currency": "USD", "subtotal": 10.0, "total": 10.0,
        "line_items": [{"line_id": f"{order_id}-1", "product_id": "p1", "quantity": 1, "unit_price": 10.0}],
    }  # fmt: skip
    record.update(fields)
    return json.dumps(record)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def con(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        yield connection


def put(landing: Path, relative: str, data: bytes | str) -> Path:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def load(con, landing: Path, *tables: str):
    reports = [load_table(con, RAW_TABLES_BY_NAME[t], landing) for t in tables]
    return reports[0] if len(reports) == 1 else reports


def quarantine(con) -> list[tuple]:
    return con.execute(
        "select table_name, file, line, column_name, reason from raw._quarantine order by table_name, line"
    ).fetchall()


def ledger_balanced(con) -> None:
    """Per loaded file: ledger rows_in_file = accepted + quarantined = rows in the table + quarantine rows."""
    for table, file, in_file, accepted, quarantined in con.execute(
        "select table_name, file, rows_in_file, rows_accepted, rows_quarantined from raw._load_ledger "
        "where status = 'loaded'"
    ).fetchall():
        held = con.execute(f'select count(*) from raw."{table}" where _file = ?', [file]).fetchone()[0]
        parked = con.execute(
            "select count(*) from raw._quarantine where table_name = ? and file = ?", [table, file]
        ).fetchone()[0]
        assert in_file == accepted + quarantined and (accepted, quarantined) == (held, parked), file


# ----------------------------------------------------------------------------------------- file structure
def test_wrong_delimiter_rejects_the_file_naming_the_missing_columns(landing, con):
    put(landing, CONTACTS, HEADER.replace(",", ";") + "\n" + contact("c1").replace(",", ";") + "\n")
    report = load(con, landing, "crm_contacts")
    assert [f.status for f in report.files] == ["rejected"]
    assert report.files[0].message == (
        f"{CONTACTS}: required column contact_id, email, created_at, updated_at missing from the header; "
        "the file was not loaded"
    )
    assert con.execute("select count(*) from raw.crm_contacts").fetchone()[0] == 0


def test_utf16_file_is_rejected_latin1_lines_are_quarantined(landing, con):
    text = f"{HEADER}\n{contact('c1', 'Zoë')}\n{contact('c2', 'Bo')}\n"
    put(landing, CONTACTS, text.encode("latin-1"))
    put(landing, "crm/contacts/contacts_2024-02.csv", text.encode("utf-16"))
    report = load(con, landing, "crm_contacts")
    assert [f.status for f in report.files] == ["loaded", "rejected"]
    assert "contacts_2024-02.csv: required column contact_id" in report.files[1].message
    assert quarantine(con) == [("crm_contacts", CONTACTS, 2, "first_name", "not valid UTF-8 text")]
    assert con.execute("select contact_id, _line from raw.crm_contacts").fetchall() == [("c2", 3)]
    ledger_balanced(con)


def test_byte_order_mark_is_ignored_in_csv_and_json_lines(landing, con):
    put(landing, CONTACTS, "\ufeff" + f"{HEADER}\n{contact('c1')}\n")
    put(landing, ORDERS, "\ufeff" + order("o1") + "\n" + order("o2") + "\n")
    load(con, landing, "crm_contacts", "shop_orders")
    assert con.execute("select contact_id, _line from raw.crm_contacts").fetchall() == [("c1", 2)]
    assert con.execute("select order_id, _line from raw.shop_orders order by 1").fetchall() == [
        ("o1", 1),
        ("o2", 2),
    ]
    assert quarantine(con) == []


def test_empty_csv_is_rejected_empty_json_lines_and_header_only_csv_load_nothing(landing, con):
    put(landing, CONTACTS, b"")
    put(landing, "crm/contacts/contacts_2024-02.csv", HEADER + "\n")
    put(landing, ORDERS, b"")
    contacts, orders = load(con, landing, "crm_contacts", "shop_orders")
    assert [(f.status, f.message) for f in contacts.files] == [
        ("rejected", f"{CONTACTS}: the file is empty: it has no header line"),
        ("loaded", ""),
    ]
    assert [(f.status, f.rows_in_file) for f in orders.files] == [("loaded", 0)]
    assert con.execute("select count(*) from raw.crm_contacts").fetchone()[0] == 0
    ledger_balanced(con)


def test_windows_line_endings_load_without_carriage_returns(landing, con):
    put(landing, CONTACTS, f"{HEADER}\r\n{contact('c1')}\r\n{contact('c2')}\r\n")
    load(con, landing, "crm_contacts")
    got = con.execute(
        "select contact_id, updated_at::varchar, _line from raw.crm_contacts order by 1"
    ).fetchall()
    assert got == [("c1", "2024-01-01 10:00:00+00", 2), ("c2", "2024-01-01 10:00:00+00", 3)]


def test_truncated_gzip_is_rejected_with_the_readers_reason(landing, con):
    body = (HEADER + "\n" + "\n".join(contact(f"c{i}") for i in range(2000)) + "\n").encode()
    put(landing, CONTACTS + ".gz", gzip.compress(body)[:300])
    report = load(con, landing, "crm_contacts")
    assert report.files[0].status == "rejected"
    assert report.files[0].message.startswith(f"{CONTACTS}.gz: could not be read as crm_contacts:")
    assert "GZIP" in report.files[0].message
    assert con.execute("select count(*) from raw.crm_contacts").fetchone()[0] == 0


def test_a_json_line_that_is_an_array_or_a_string_is_quarantined(landing, con):
    put(landing, ORDERS, order("o1") + '\n[1, 2]\n"text"\n')
    load(con, landing, "shop_orders")
    assert quarantine(con) == [
        ("shop_orders", ORDERS, 2, None, "not a JSON object"),
        ("shop_orders", ORDERS, 3, None, "not a JSON object"),
    ]
    ledger_balanced(con)


# ------------------------------------------------------------------------------------------------ header
def test_a_column_twice_in_the_header_rejects_the_file(landing, con):
    put(landing, CONTACTS, f"{HEADER},EMAIL\n{contact('c1')},b@x.com\n")
    report = load(con, landing, "crm_contacts")
    assert report.files[0].message == f"{CONTACTS}: column 'email' appears twice in the header"


def test_a_column_named_like_load_bookkeeping_rejects_the_file(landing, con):
    put(landing, CONTACTS, f"{HEADER},_file\n{contact('c1')},x\n")
    put(landing, ORDERS, order("o1", _line=7) + "\n")
    contacts, orders = load(con, landing, "crm_contacts", "shop_orders")
    assert "column '_file' in the header is reserved" in contacts.files[0].message
    assert "named like a load bookkeeping column" in orders.files[0].message
    assert con.execute("select count(*) from raw.shop_orders").fetchone()[0] == 0


# ------------------------------------------------------------------------------------------------ values
def test_wrong_types_are_quarantined_naming_line_and_column(landing, con):
    lines = [
        order("o1", subtotal="12,50"),
        order("o2", order_number=2.5),
        order("o3", line_items=[{"line_id": "x", "product_id": "p", "quantity": "two", "unit_price": 1}]),
        order("o4"),
    ]
    put(landing, ORDERS, "\n".join(lines) + "\n")
    put(landing, CONTACTS, f"{HEADER}\n{contact('c1').replace(',true,', ',maybe,')}\n")
    load(con, landing, "shop_orders", "shop_order_lines", "crm_contacts")
    assert quarantine(con) == [
        ("crm_contacts", CONTACTS, 2, "marketing_opt_in", "'maybe' is not a valid boolean (true/false)"),
        ("shop_order_lines", ORDERS, 3, "quantity", "'two' is not a valid whole number"),
        ("shop_orders", ORDERS, 1, "subtotal", "'12,50' is not a valid number"),
        ("shop_orders", ORDERS, 2, "order_number", "'2.5' is not a valid whole number"),
    ]
    ledger_balanced(con)


def test_null_or_empty_key_in_json_lines_is_quarantined(landing, con):
    put(landing, ORDERS, "\n".join([order(None), order(""), order("o3")]) + "\n")
    load(con, landing, "shop_orders")
    assert quarantine(con) == [
        ("shop_orders", ORDERS, 1, "order_id", "required value is missing"),
        ("shop_orders", ORDERS, 2, "order_id", "required value is missing"),
    ]
    assert con.execute("select order_id from raw.shop_orders").fetchall() == [("o3",)]


def test_duplicate_keys_within_and_across_files_are_all_kept_in_raw_with_their_lineage(landing, con):
    put(landing, ORDERS, order("o1") + "\n" + order("o1") + "\n")
    put(landing, "orders/orders/orders_2024-02.jsonl", order("o1", status="cancelled") + "\n")
    load(con, landing, "shop_orders")
    # Raw is the history of what arrived; staging keeps the latest copy (test_reliability_faults).
    assert con.execute("select _file, _line, status from raw.shop_orders order by 1, 2").fetchall() == [
        (ORDERS, 1, "completed"),
        (ORDERS, 2, "completed"),
        ("orders/orders/orders_2024-02.jsonl", 1, "cancelled"),
    ]


def test_unknown_currency_is_quarantined(landing, con):
    put(landing, ORDERS, order("o1", currency="XXX") + "\n" + order("o2") + "\n")
    load(con, landing, "shop_orders")
    assert quarantine(con) == [("shop_orders", ORDERS, 1, "currency", "'XXX' is not one of: USD, EUR, GBP")]


def test_negative_refund_amount_is_quarantined(landing, con):
    refund = {
        "refund_id": "r1",
        "order_id": "o1",
        "created_at": "2024-01-02",
        "currency": "USD",
        "amount": -5,
    }
    put(landing, "orders/refunds/refunds_2024-01.jsonl", json.dumps(refund) + "\n")
    load(con, landing, "shop_refunds")
    assert quarantine(con) == [
        ("shop_refunds", "orders/refunds/refunds_2024-01.jsonl", 1, "amount", "'-5' is below the minimum 0")
    ]


def test_impossible_date_is_quarantined_a_real_leap_day_loads(landing, con):
    rates = "orders/exchange_rates/exchange_rates_2024.csv"
    put(landing, rates, "rate_date,currency,usd_per_unit\n2023-02-29,EUR,1.1\n2024-02-29,EUR,1.1\n")
    load(con, landing, "shop_exchange_rates")
    assert quarantine(con) == [
        (
            "shop_exchange_rates",
            rates,
            2,
            "rate_date",
            "'2023-02-29' is not a valid ISO-8601 date (YYYY-MM-DD)",
        )
    ]
    assert con.execute("select rate_date::varchar from raw.shop_exchange_rates").fetchall() == [
        ("2024-02-29",)
    ]


def test_timestamps_without_offset_are_utc_whatever_the_session_time_zone(landing, con):
    con.execute("set TimeZone = 'America/New_York'")
    put(
        landing,
        CONTACTS,
        f"{HEADER}\n" + contact("c1").replace("2024-01-01T10:00:00Z", "2024-01-01 10:00:00"),
    )
    load(con, landing, "crm_contacts")
    assert con.execute("select epoch(created_at), epoch(updated_at) from raw.crm_contacts").fetchall() == [
        (1704103200.0, 1704103200.0)  # 2024-01-01 10:00 UTC
    ]
    assert con.execute("select current_setting('TimeZone')").fetchone()[0] == "America/New_York"


def test_a_10_mb_value_is_quarantined_and_the_rest_of_the_file_loads(landing, con):
    put(landing, CONTACTS, f"{HEADER}\n{contact('c1', 'x' * 10_000_000)}\n{contact('c2')}\n")
    put(landing, ORDERS, order("o1", promo_code="x" * 10_000_000) + "\n" + order("o2") + "\n")
    load(con, landing, "crm_contacts", "shop_orders")
    assert quarantine(con) == [
        ("crm_contacts", CONTACTS, 2, None, "line longer than the reader's maximum line size"),
        ("shop_orders", ORDERS, 1, None, "line longer than the reader's maximum line size"),
    ]
    assert con.execute("select contact_id, _line from raw.crm_contacts").fetchall() == [("c2", 3)]
    assert con.execute("select order_id from raw.shop_orders").fetchall() == [("o2",)]
    assert all(len(m or "") < 2000 for (m,) in con.execute("select message from raw._load_ledger").fetchall())
    ledger_balanced(con)


# ------------------------------------------------------------------------------ SQL-shaped names and values
def test_sql_in_a_value_a_column_name_and_a_file_name_is_data(landing, con):
    put(landing, ORDERS, order("o1") + "\n")
    hostile_file = f"crm/contacts/contacts_x{HOSTILE}.csv"
    hostile_column = 'x"); drop table raw.shop_orders; --'
    put(
        landing,
        hostile_file,
        f'{HEADER},"{hostile_column.replace(chr(34), chr(34) * 2)}"\n{contact("c1", HOSTILE)},v\n',
    )
    reports = load(con, landing, "shop_orders", "crm_contacts")
    assert [f.status for r in reports for f in r.files] == ["loaded", "loaded"]
    assert reports[1].new_columns == [hostile_column]
    assert con.execute(
        f'select first_name, _file, "{hostile_column.replace(chr(34), chr(34) * 2)}" from raw.crm_contacts'
    ).fetchall() == [(HOSTILE, hostile_file, "v")]
    assert con.execute("select file from raw._load_ledger where table_name = 'crm_contacts'").fetchall() == [
        (hostile_file,)
    ]
    assert con.execute("select count(*) from raw.shop_orders").fetchone()[0] == 1  # still there
    # Loading again recognises the file by its (hostile) name: nothing added.
    assert [f.status for f in load(con, landing, "crm_contacts").files] == ["already_loaded"]
