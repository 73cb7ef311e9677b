"""Raw loads on small hand-written landing files: typing, quarantine, ledger, idempotence, atomicity."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from dagster import materialize

from orchestration.defs.raw.assets import raw_assets
from orchestration.lib.loads import load_table
from orchestration.lib.raw_schema import RAW_TABLES, RAW_TABLES_BY_NAME
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import PROJECT_ROOT, Settings

CONTACTS = "crm/contacts/contacts_2024-01.csv"
ORDERS = "orders/orders/orders_2024-01.jsonl"
CONTACTS_HEADER = (
    "contact_id,email,first_name,segment,acquisition_channel,marketing_opt_in,created_at,updated_at"
)


def write(landing: Path, relative: str, text: str) -> Path:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    data = textwrap.dedent(text).lstrip("\n").encode()
    path.write_bytes(gzip.compress(data) if relative.endswith(".gz") else data)
    return path


def order(order_id: str, lines: list[dict] | None = None, **fields) -> str:
    record = {
        "order_id": order_id,
        "order_number": 1,
        "customer_id": "c1",
        "email": "a@x.com",
        "created_at": "2024-01-05T10:00:00Z",
        "status": "completed",
        "currency": "USD",
        "subtotal": 10.0,
        "total": 10.0,
        "line_items": lines
        if lines is not None
        else [{"line_id": f"{order_id}-1", "product_id": "p1", "quantity": 1, "unit_price": 10.0}],
    }
    record.update(fields)
    return json.dumps(record)


def load_all(con: duckdb.DuckDBPyConnection, landing: Path) -> dict:
    return {t.name: load_table(con, t, landing) for t in RAW_TABLES}


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


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


def test_good_csv_and_jsonl_load_typed_with_lineage(landing, con):
    # An older contacts export without the optional `phone` column; one timestamp has an offset.
    write(
        landing,
        CONTACTS,
        f"""
        {CONTACTS_HEADER}
        c1,a@x.com,Ann,smb,organic,true,2024-01-01T09:30:00+02:00,2024-01-01 08:00:00
        c2,b@x.com,"Bo, Jr",enterprise,referral,false,2024-01-02T00:00:00Z,2024-01-02T00:00:00Z
    """,
    )
    two_lines = [
        {"line_id": "l1", "product_id": "p1", "quantity": 2, "unit_price": 2.5},
        {"line_id": "l2", "product_id": "p2", "quantity": 1, "unit_price": 5},
    ]
    write(landing, ORDERS, "\n".join([order("o1", two_lines), order("o2", customer_id=None)]) + "\n")
    load_all(con, landing)

    contacts = rows(
        con,
        "select contact_id, first_name, phone, marketing_opt_in, created_at, updated_at, "
        "_file, _line from raw.crm_contacts order by contact_id",
    )
    assert contacts[0] == (
        "c1",
        "Ann",
        None,
        True,
        datetime(2024, 1, 1, 7, 30, tzinfo=UTC),
        datetime(2024, 1, 1, 8, 0, tzinfo=UTC),
        CONTACTS,
        2,
    )
    assert contacts[1][1] == "Bo, Jr" and contacts[1][3] is False and contacts[1][7] == 3
    types = dict(
        rows(
            con,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'shop_orders'",
        )
    )
    assert (types["order_number"], types["subtotal"], types["created_at"], types["_line"]) == (
        "BIGINT",
        "DOUBLE",
        "TIMESTAMP WITH TIME ZONE",
        "BIGINT",
    )
    assert rows(
        con, "select order_id, customer_id, order_number, total, _line from raw.shop_orders order by 1"
    ) == [("o1", "c1", 1, 10.0, 1), ("o2", None, 1, 10.0, 2)]
    assert rows(
        con, "select order_id, line_id, quantity, unit_price, _line from raw.shop_order_lines order by 2"
    ) == [("o1", "l1", 2, 2.5, 1), ("o1", "l2", 1, 5.0, 1), ("o2", "o2-1", 1, 10.0, 2)]


def test_bad_records_are_quarantined_with_file_line_column_and_reason(landing, con):
    write(
        landing,
        CONTACTS,
        f"""
        {CONTACTS_HEADER}
        c1,a@x.com,Ann,smb,organic,true,2024-01-01,2024-01-01
        c2,b@x.com,Bo,smb,organic,true,2024-02-30,2024-01-01
        ,c@x.com,Cy,smb,organic,true,2024-01-01,2024-01-01
        c4,d@x.com,Di,smb,organic,true,2024-01-01,2999-01-01
        c5,e@x.com,Ed,smb,organic,true,2024-01-01
        c6,f@x.com,Fay,smb,tv,true,2024-01-01,2024-01-01
        c7,g@x.com,Gus,smb,organic,true,2024-01-01,2024-01-01
        c8,h@x.com,"Hal,smb,organic,true,2024-01-01,2024-01-01
    """,
    )
    write(
        landing,
        "orders/exchange_rates/exchange_rates_2024.csv",
        """
        rate_date,currency,usd_per_unit
        2024-01-01,EUR,1.1
        2024-01-01,JPY,0.007
        2024-01-01,GBP,1.3,extra
    """,
    )
    write(
        landing,
        ORDERS,
        "\n".join(
            [
                order("o1"),
                order("o2", [{"line_id": "l2", "product_id": "p1", "quantity": -1, "unit_price": 1}]),
                '{"order_id": "o3", "email": "x@y.z", "created_at": "2024-01-0',
                order("o4", total=-5),
            ]
        )
        + "\n",
    )
    load_all(con, landing)

    found = {
        (t, f, line, col): reason
        for t, f, line, col, reason in rows(
            con, "select table_name, file, line, column_name, reason from raw._quarantine"
        )
    }
    rates = "orders/exchange_rates/exchange_rates_2024.csv"
    expected = {
        ("crm_contacts", CONTACTS, 3, "created_at"): "'2024-02-30' is not a valid ISO-8601 timestamp",
        ("crm_contacts", CONTACTS, 4, "contact_id"): "required value is missing",
        ("crm_contacts", CONTACTS, 5, "updated_at"): "'2999-01-01' is in the future",
        ("crm_contacts", CONTACTS, 6, "updated_at"): "wrong number of fields",
        ("crm_contacts", CONTACTS, 7, "acquisition_channel"): "'tv' is not one of: organic, paid_search",
        ("crm_contacts", CONTACTS, 9, "first_name"): "unbalanced or misplaced quote",
        ("shop_exchange_rates", rates, 3, "currency"): "'JPY' is not one of: USD, EUR, GBP",
        ("shop_exchange_rates", rates, 4, None): "wrong number of fields",
        ("shop_orders", ORDERS, 3, None): "not valid JSON",
        ("shop_orders", ORDERS, 4, "total"): "'-5' is below the minimum 0",
        ("shop_order_lines", ORDERS, 2, "quantity"): "'-1' is below the minimum 1",
        ("shop_order_lines", ORDERS, 3, None): "not valid JSON",
    }
    assert set(found) == set(expected)
    for key, reason in expected.items():
        assert found[key].startswith(reason), (key, found[key])
    assert rows(con, "select contact_id, _line from raw.crm_contacts order by 1") == [("c1", 2), ("c7", 8)]
    # The quarantined record is readable: the line itself, or header -> value for a parsed CSV record.
    record = rows(con, "select record from raw._quarantine where line = 7 and table_name = 'crm_contacts'")[
        0
    ][0]
    assert json.loads(record)["acquisition_channel"] == "tv"


def test_csv_line_numbers_count_blank_lines_and_undecodable_lines_are_quarantined(landing, con):
    rates = landing / "orders/exchange_rates/exchange_rates_2024.csv"
    rates.parent.mkdir(parents=True)
    rates.write_bytes(
        b"rate_date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n\n2024-01-02,E\xffUR,1.1\n"
        b"2024-01-03,EUR\n\n2024-01-04,EUR,1.2\n"
    )
    load_all(con, landing)
    assert rows(con, "select rate_date::varchar, _line from raw.shop_exchange_rates order by 2") == [
        ("2024-01-01", 2),
        ("2024-01-04", 7),
    ]
    assert rows(con, "select line, column_name, reason from raw._quarantine order by line") == [
        (4, "currency", "not valid UTF-8 text"),
        (5, "usd_per_unit", "wrong number of fields (Expected Number of Columns: 3 Found: 2)"),
    ]


def records_in_file(path: Path, table_name: str) -> int:
    """Records a person counts in the file, with Python's own parsers (not the loader's)."""
    text = (gzip.open(path, "rt") if path.suffix == ".gz" else path.open()).read()
    if path.name.endswith((".csv", ".csv.gz")):
        return sum(1 for r in csv.reader(text.splitlines()) if r) - 1
    lines = [line for line in text.splitlines() if line.strip()]
    if table_name != "shop_order_lines":
        return len(lines)
    n = 0
    for line in lines:
        try:
            items = json.loads(line).get("line_items")
        except (ValueError, AttributeError):
            n += 1  # a line that is no JSON object is one quarantined record
            continue
        if items is not None:  # absent or null: an order exported without its lines has none
            n += len(items) if isinstance(items, list) else 1  # not an array: one quarantined record
    return n


def test_rows_in_file_equal_accepted_plus_quarantined(landing, con):
    test_bad_records_are_quarantined_with_file_line_column_and_reason(landing, con)
    ledger = rows(
        con,
        "select table_name, file, rows_in_file, rows_accepted, rows_quarantined "
        "from raw._load_ledger where status = 'loaded'",
    )
    assert len(ledger) == 4
    for table_name, file, in_file, accepted, quarantined in ledger:
        assert in_file == records_in_file(landing / file, table_name), file
        assert (accepted, quarantined) == rows(
            con,
            f"""
            select (select count(*) from raw.{table_name} where _file = ?),
                (select count(*) from raw._quarantine where table_name = ? and file = ?)""",
            [file, table_name, file],
        )[0]
        assert in_file == accepted + quarantined


def test_loading_twice_or_the_same_content_under_another_name_adds_nothing(landing, con):
    write(landing, ORDERS, order("o1") + "\n" + "{broken\n")
    load_all(con, landing)
    before = rows(
        con,
        "select (select count(*) from raw.shop_orders), (select count(*) from raw._quarantine), "
        "(select count(*) from raw._load_ledger)",
    )
    reports = load_all(con, landing)
    assert (
        rows(
            con,
            "select (select count(*) from raw.shop_orders), (select count(*) from raw._quarantine), "
            "(select count(*) from raw._load_ledger)",
        )
        == before
    )
    assert [f.status for f in reports["shop_orders"].files] == ["already_loaded"]

    (landing / "orders/orders/orders_2024-01-copy.jsonl").write_bytes((landing / ORDERS).read_bytes())
    reports = load_all(con, landing)
    assert rows(con, "select count(*) from raw.shop_orders")[0][0] == 1
    assert [f.status for f in reports["shop_orders"].files] == ["skipped_duplicate_content", "already_loaded"]
    assert rows(
        con,
        "select status, message from raw._load_ledger "
        "where table_name = 'shop_orders' and file like '%copy%'",
    ) == [
        (
            "skipped_duplicate_content",
            "orders/orders/orders_2024-01-copy.jsonl: same content as orders/orders/orders_2024-01.jsonl, "
            "which is already loaded",
        )
    ]


def test_a_file_changed_after_its_load_replaces_its_rows_and_is_reported(landing, con):
    write(landing, ORDERS, order("o1") + "\n" + order("o2") + "\n" + "{broken\n")
    load_all(con, landing)
    write(landing, ORDERS, order("o1", status="cancelled") + "\n")
    reports = load_all(con, landing)

    changed = reports["shop_orders"].changed
    assert len(changed) == 1 and "content changed after it was loaded" in changed[0].message
    assert "its 2 earlier rows were replaced" in changed[0].message
    assert rows(con, "select order_id, status from raw.shop_orders") == [("o1", "cancelled")]
    assert rows(con, "select count(*) from raw._quarantine where table_name = 'shop_orders'")[0][0] == 0
    assert rows(
        con,
        "select status, rows_in_file from raw._load_ledger where table_name = 'shop_orders' "
        "order by loaded_at",
    ) == [("loaded", 3), ("changed_after_load", 1)]


def test_a_missing_required_column_rejects_the_file_naming_file_and_column(landing, con):
    write(
        landing,
        CONTACTS,
        """
        contact_id,first_name,created_at,updated_at
        c1,Ann,2024-01-01,2024-01-01
    """,
    )
    write(
        landing,
        "crm/contacts/contacts_2024-02.csv",
        f"""
        {CONTACTS_HEADER}
        c2,b@x.com,Bo,smb,organic,true,2024-02-01,2024-02-01
    """,
    )
    write(
        landing, ORDERS, json.dumps({"order_id": "o1", "created_at": "2024-01-01", "line_items": []}) + "\n"
    )
    reports = load_all(con, landing)

    rejected = reports["crm_contacts"].rejected
    assert [f.message for f in rejected] == [
        f"{CONTACTS}: required column email missing from the header; the file was not loaded"
    ]
    assert rows(con, "select contact_id from raw.crm_contacts") == [("c2",)]
    # An order's email is required only without a customer_id, so its absence alone rejects nothing.
    assert "required column status, currency, subtotal, total missing from every record" in (
        reports["shop_orders"].rejected[0].message
    )
    assert rows(con, "select count(*) from raw.shop_orders")[0][0] == 0
    # Unchanged, it stays rejected (reported again) without piling up ledger rows.
    again = load_all(con, landing)
    assert len(again["crm_contacts"].rejected) == 1
    assert rows(con, "select count(*) from raw._load_ledger where status = 'rejected'")[0][0] == 2


def test_a_new_column_is_added_as_text_and_reported(landing, con):
    write(
        landing,
        CONTACTS,
        f"""
        {CONTACTS_HEADER},Loyalty Tier
        c1,a@x.com,Ann,smb,organic,true,2024-01-01,2024-01-01,gold
    """,
    )
    write(landing, ORDERS, order("o1", gift_wrap=True) + "\n")
    reports = load_all(con, landing)
    assert reports["crm_contacts"].new_columns == ["Loyalty Tier"]
    assert reports["shop_orders"].new_columns == ["gift_wrap"]
    assert rows(con, 'select "Loyalty Tier" from raw.crm_contacts') == [("gold",)]
    assert rows(con, "select gift_wrap from raw.shop_orders") == [("true",)]
    assert reports["shop_order_lines"].new_columns == []  # line_items belongs to the order lines


def test_gzip_files_load_like_plain_ones(landing, con):
    write(
        landing,
        CONTACTS + ".gz",
        f"""
        {CONTACTS_HEADER}
        c1,a@x.com,Ann,smb,organic,true,2024-01-01,2024-01-01
        c2,b@x.com,Bo,smb,organic,true,2024-01-01
    """,
    )
    write(landing, ORDERS + ".gz", order("o1") + "\n{nope\n")
    load_all(con, landing)
    assert rows(con, "select contact_id, _file, _line from raw.crm_contacts") == [("c1", CONTACTS + ".gz", 2)]
    assert rows(con, "select table_name, line from raw._quarantine order by 1") == [
        ("crm_contacts", 3),
        ("shop_order_lines", 2),
        ("shop_orders", 2),
    ]


def test_absent_sources_give_empty_tables_with_the_documented_columns(landing, con):
    write(landing, ORDERS, order("o1") + "\n")
    load_all(con, landing)
    for table in RAW_TABLES:
        columns = [
            r[0]
            for r in rows(
                con,
                "select column_name from information_schema.columns where "
                "table_schema = 'raw' and table_name = ? order by ordinal_position",
                [table.name],
            )
        ]
        assert columns == [c.name for c in table.columns] + ["_file", "_line", "_loaded_at"]
    assert rows(con, "select count(*) from raw.crm_contacts")[0][0] == 0
    assert rows(con, "select count(*) from raw.support_tickets")[0][0] == 0


def test_a_load_killed_mid_file_leaves_nothing_and_a_rerun_completes_it(landing, tmp_path):
    lines = "".join(f"c{i},c{i}@x.com,N,smb,organic,true,2024-01-01,2024-01-01\n" for i in range(500))
    write(landing, CONTACTS, CONTACTS_HEADER + "\n" + lines)
    database = tmp_path / "killed.duckdb"
    # The ledger row is written after the file's rows, inside its transaction: die right there.
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        import duckdb
        from orchestration.lib.loads import ledger, load_table
        from orchestration.lib.raw_schema import RAW_TABLES_BY_NAME
        con = duckdb.connect({str(database)!r})
        con.execute("create table probe as select 1")
        ledger.record = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        load_table(con, RAW_TABLES_BY_NAME["crm_contacts"], Path({str(landing)!r}))
    """)
    killed = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()

    with duckdb.connect(str(database)) as con:
        assert rows(con, "select count(*) from raw.crm_contacts")[0][0] == 0
        assert rows(con, "select count(*) from raw._load_ledger")[0][0] == 0
        report = load_table(con, RAW_TABLES_BY_NAME["crm_contacts"], landing)
        assert [f.status for f in report.files] == ["loaded"]
        assert rows(con, "select count(*), count(distinct contact_id) from raw.crm_contacts")[0] == (500, 500)


def test_the_asset_loads_good_files_then_fails_naming_the_rejected_file(landing, tmp_path):
    write(landing, CONTACTS, "contact_id,created_at,updated_at\nc1,2024-01-01,2024-01-01\n")
    write(
        landing,
        "crm/contacts/contacts_2024-02.csv",
        f"{CONTACTS_HEADER}\nc2,b@x.com,Bo,smb,organic,true,2024-02-01,2024-02-01\n",
    )
    write(landing, ORDERS, order("o1") + "\n{broken\n")
    assets = [
        a for a in raw_assets if a.op.name in ("raw__crm_contacts", "raw__shop_orders_and_shop_order_lines")
    ]
    result = materialize(
        assets,
        resources={
            "warehouse": DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
            "settings": Settings(landing_dir=landing),
        },
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "raw__crm_contacts"
    assert f"{CONTACTS}: required column email missing from the header" in str(
        failure.event_specific_data.error.message
    )
    # A rejected file is not retried within the run: the same bytes would be rejected again.
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    # One step loads both tables of the orders files, each reported as its own asset.
    done = result.asset_materializations_for_node("raw__shop_orders_and_shop_order_lines")
    meta = {m.asset_key.path[-1]: {k: v.value for k, v in m.metadata.items()} for m in done}
    counts = ("files_loaded", "rows_accepted", "rows_quarantined", "dagster/row_count")
    assert [meta["shop_orders"][k] for k in counts] == [1, 1, 1, 1]
    assert [meta["shop_order_lines"][k] for k in counts] == [1, 1, 1, 1]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert rows(con, "select contact_id from raw.crm_contacts") == [("c2",)]
        # The orders file was read once for both tables: one transaction, one ledger row per table.
        assert rows(
            con, "select table_name, status from raw._load_ledger where file = ? order by 1", [ORDERS]
        ) == [
            ("shop_order_lines", "loaded"),
            ("shop_orders", "loaded"),
        ]


def test_the_whole_sample_reconciles_file_by_file(built_warehouse):
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        ledger = rows(
            con,
            "select table_name, file, status, rows_in_file, rows_accepted, rows_quarantined "
            "from raw._load_ledger",
        )
        counts = {t.name: rows(con, f"select count(*) from raw.{t.name}")[0][0] for t in RAW_TABLES}
    landing = Path(built_warehouse.landing_dir)
    expected_files = {
        (t.name, p.relative_to(landing).as_posix())
        for t in RAW_TABLES
        for g in t.globs
        for p in landing.glob(g)
    }
    assert {(t, f) for t, f, *_ in ledger} == expected_files
    for table_name, file, status, in_file, accepted, quarantined in ledger:
        assert status == "loaded", (file, status)
        assert in_file == records_in_file(landing / file, table_name) == accepted + quarantined, file
    for table_name, n in counts.items():
        assert n == sum(accepted for t, _, _, _, accepted, _ in ledger if t == table_name), table_name


def test_source_schema_doc_is_rendered_from_raw_schema():
    from orchestration.lib.loads.schema_doc import render

    committed = (PROJECT_ROOT / "docs" / "source_schema.md").read_text()
    assert committed == render(), (
        "docs/source_schema.md is stale: python -m orchestration.lib.loads.schema_doc"
    )
