"""Integrity guarantee of the incremental facts (DECISIONS.md, Incremental processing).

A small generated data set (250 contacts, one landing file per source family per day) is built two ways:
day by day, with two days arriving late and out of order, each day loaded and then built incrementally by
dbt; and once, with every file, by a full rebuild. Every mart must be identical row for row. The lookback
is 0 hours so the exactness comes from the incremental predicate itself, not from a wide window. A second test
adds, on one day, a CRM contact whose email is an earlier guest's and a re-export of an old order naming a
customer: identity moves history, and the increment must still equal a full rebuild. Tickets carried by
those guests' emails move with them. The CLV backtest's per-customer split and summary are compared too,
with a one-month holdout so that the short history has a cutoff (it appears when as_of_date reaches
2024-02-29, and stays for the later days, which rewrite only affected customers' rows); in the second test
one cutoff without holdout, replaced by the next on the move day.
"""

from __future__ import annotations

import json
import math
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
# Marts built before the CLV fit (the CLV-scored marts are rebuilt whole from these facts every run), and the
# CLV backtest's inputs (schema-qualified: intermediate tables the CLV step and mart_clv_backtest read).
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
    "intermediate.int_clv__backtest_customers",
    "intermediate.int_clv__backtest_summary",
    # The retention mix's per-customer flags, row for row: the mart's counts could hide errors that cancel,
    # and it nulls repurchase until the window (longer than this history) is observed.
    "intermediate.int_retention_mix__customer_months",
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


# The CLV backtest's cutoffs (vars): a one-month holdout, as the default six would leave a seven-week history
# without a cutoff. The identity test keeps one cutoff with no holdout, so that on its move day (a month end)
# the cutoff of 01-31 is dropped and the one of 02-29 added.
BACKTEST = {"clv_backtest_holdout_months": 1}
BACKTEST_MOVING = {"clv_backtest_holdout_months": 0, "clv_backtest_cutoffs": 1}


def _invoke_dbt(db: Path, monkeypatch: pytest.MonkeyPatch, command: str, *args: str, dbt_vars: dict):
    from dbt.cli.main import dbtRunner

    monkeypatch.setenv("RW_DUCKDB_PATH", str(db))
    return dbtRunner().invoke(
        [
            command,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            # Its own target directory: the project's target/manifest.json is what other tests' runs load.
            "--target-path",
            str(db.parent / "dbt_target"),
            "--log-path",
            str(db.parent / "dbt_target"),
            "--vars",
            json.dumps({"incremental_lookback_hours": 0, **dbt_vars}),
            "--quiet",
            *args,
        ]
    )


def _dbt(db: Path, monkeypatch: pytest.MonkeyPatch, *args: str, backtest: dict = BACKTEST) -> None:
    result = _invoke_dbt(db, monkeypatch, "run", "--exclude", "tag:clv_scored+", *args, dbt_vars=backtest)
    failed = [r.message for r in (result.result or []) if r.status not in ("success", "pass")]
    assert result.success, f"dbt run {args} failed: {result.exception or failed}"


def _same_row(a: tuple, b: tuple) -> bool:
    """Equal, doubles within 1e-9 relative: a parallel sum adds in any order, so two full builds can differ in
    the last bits (rounding both to 9 decimals is not enough: 102.9643804825 rounds either way)."""
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
        if isinstance(x, float) and isinstance(y, float)
        else x == y
        for x, y in zip(a, b, strict=True)
    )


def _assert_same_marts(incremental: dict[str, list[tuple]], full: dict[str, list[tuple]]) -> None:
    for name in COMPARED:
        assert len(full[name]) > 0, f"{name} is empty: the comparison would prove nothing"
        differ = [(f, i) for f, i in zip(full[name], incremental[name], strict=False) if not _same_row(f, i)]
        assert len(incremental[name]) == len(full[name]) and not differ, (
            f"{name}: {len(full[name])} rows in full, {len(incremental[name])} incremental; "
            f"first differences (full, incremental): {differ[:3]}"
        )


def _marts(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db))
    try:
        tables = {}
        for name in COMPARED:
            schema, table = name.split(".") if "." in name else ("marts", name)
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if c not in BOOKKEEPING
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f"select {select} from {schema}.{table} order by all").fetchall()
            tables[name] = rows
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


def _append_late_campaign_touches(landing: Path) -> list[str]:
    """Append to the last arrival's activities file campaign touches dated in January: a new one for a
    contact, and a re-export of an earlier touch naming another contact. Both contacts bought in January (live
    at the start of February) and have no order or contact row in March, so only the touches can rewrite their
    February retention-mix row, a month the last increment does not rewrite for everyone."""
    orders = [
        (_file_day(path), o)
        for path in sorted((landing / "orders" / "orders").glob("orders_*.jsonl"))
        for o in map(json.loads, path.read_text().splitlines())
    ]
    activities_dir = landing / "crm" / "activities"
    touches = [
        (_file_day(path), line.split(","))
        for path in sorted(activities_dir.glob("activities_*.csv"))
        for line in path.read_text().splitlines()[1:]
        if ",campaign_touch," in line
    ]
    march_contacts = {
        line.split(",")[0]
        for path in (landing / "crm" / "contacts").glob("contacts_*.csv")
        if _file_day(path) >= date(2024, 3, 1)
        for line in path.read_text().splitlines()[1:]
    }
    busy = {o["customer_id"] for day, o in orders if day >= date(2024, 3, 1)}
    busy |= march_contacts | {fields[1] for _, fields in touches}
    candidates = sorted(
        {
            o["customer_id"]
            for day, o in orders
            if day <= date(2024, 1, 30) and o["status"] == "completed" and o.get("customer_id")
        }
        - busy
    )
    assert len(candidates) >= 2, candidates
    moved = next(fields for day, fields in touches if day <= date(2024, 1, 31))
    last = activities_dir / f"activities_{max(ARRIVALS).isoformat()}.csv"
    with last.open("a") as f:
        f.write(f"A900000001,{candidates[0]},campaign_touch,late_export,2024-01-25T10:00:00Z\n")
        f.write(",".join([moved[0], candidates[1], *moved[2:]]) + "\n")
    return candidates[:2]


def _campaign_touch_in_february(db: Path, customers: list[str]) -> list[bool]:
    con = duckdb.connect(str(db))
    try:
        return [
            con.execute(
                "select had_campaign_touch from intermediate.int_retention_mix__customer_months "
                "where customer_id = ? and month_start = date '2024-02-01'",
                [customer],
            ).fetchone()[0]
            for customer in customers
        ]
    finally:
        con.close()


@pytest.mark.slow
def test_day_by_day_equals_full_rebuild(daily_landing: Path, tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "source"
    _deliver(daily_landing, source, lambda day: True)
    touched = _append_late_campaign_touches(source)

    incremental_db, incremental_landing = tmp_path / "incremental.duckdb", tmp_path / "incremental_landing"
    _deliver(source, incremental_landing, lambda day: day <= FIRST_BUILD_THROUGH)
    _load(incremental_db, incremental_landing)
    _dbt(incremental_db, monkeypatch)
    rows_before = {name: len(rows) for name, rows in _marts(incremental_db).items()}

    for arrival in ARRIVALS:
        if arrival == max(ARRIVALS):
            assert _campaign_touch_in_february(incremental_db, touched) == [False, False]
        _deliver(source, incremental_landing, lambda day, arrival=arrival: day == arrival)
        _load(incremental_db, incremental_landing)
        _dbt(incremental_db, monkeypatch)
    assert _campaign_touch_in_february(incremental_db, touched) == [True, True], (
        "a late campaign touch must reach a month the increment does not rewrite for everyone"
    )

    full_db, full_landing = tmp_path / "full.duckdb", tmp_path / "full_landing"
    _deliver(source, full_landing, lambda day: day <= max(ARRIVALS))
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
    _assert_same_marts(incremental, full)
    _assert_staging_tests_judge_the_keys_rewritten(incremental_db, monkeypatch)


def _staging_test_failures(db: Path, monkeypatch: pytest.MonkeyPatch, full_checks: bool) -> list[str]:
    dbt_vars = {"full_checks": full_checks, **BACKTEST}
    result = _invoke_dbt(db, monkeypatch, "test", "--select", "stg_shop__order_lines", dbt_vars=dbt_vars)
    return sorted(r.node.name for r in result.result if r.status == "fail")


def _assert_staging_tests_judge_the_keys_rewritten(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After an increment, a staging test judges the keys that build deduped again (macros/checks.sql,
    __rewritten_this_run__), the weekly run every row: a copy of a line loaded before the last build is
    seen only by the weekly run, a copy of a line loaded for the last build by the daily one too."""
    con = duckdb.connect(str(db))
    try:
        since = "(select lookback_from from intermediate.int_incremental__state)"
        loaded_last = f"select line_id from raw.shop_order_lines where _loaded_at >= {since}"
        (new,) = con.execute(f"select min(line_id) from ({loaded_last})").fetchone()
        (old,) = con.execute(
            f"select min(line_id) from raw.shop_order_lines where line_id not in ({loaded_last})"
        ).fetchone()
        assert old is not None and new is not None, (old, new)
        duplicate = "insert into staging.stg_shop__order_lines select * from staging.stg_shop__order_lines "
        con.execute(duplicate + "where line_id = ?", [old])
    finally:
        con.close()
    unique = ["unique_stg_shop__order_lines_line_id"]
    assert _staging_test_failures(db, monkeypatch, full_checks=False) == []
    assert _staging_test_failures(db, monkeypatch, full_checks=True) == unique
    con = duckdb.connect(str(db))
    try:
        con.execute(duplicate + "where line_id = ?", [new])
    finally:
        con.close()
    assert _staging_test_failures(db, monkeypatch, full_checks=False) == unique


MOVE_DAY = date(2024, 2, 29)
NEW_CONTACT = "C9000001"
# Solved tickets raised before the first build: by the two guests whose orders move (no customer id), and by
# a requester unknown until MOVE_DAY's second new contact (one with its email, one naming its id).
MATCHED_TICKET, MOVED_TICKET = "T90000001", "T90000002"
NEW_REQUESTER, REQUESTER_EMAIL = "C9000002", "new.requester@example.com"
REQUESTER_TICKETS = {
    "T90000003": (REQUESTER_EMAIL, ""),
    "T90000004": ("other.requester@example.com", NEW_REQUESTER),
}


def _guest_orders(landing: Path, before: date) -> list[dict]:
    """Guest orders (no customer_id) of files dated before `before`, in file order."""
    found = []
    for path in sorted((landing / "orders" / "orders").glob("orders_*.jsonl")):
        if _file_day(path) < before:
            found += [o for o in map(json.loads, path.read_text().splitlines()) if not o.get("customer_id")]
    return found


def _append_identity_moves(landing: Path) -> tuple[dict, dict, str]:
    """Append to MOVE_DAY's files a new CRM contact with an earlier guest order's email, a re-export of
    another earlier guest order that now names an existing contact (whose first order is later), and a new
    contact without orders; and to the last tickets file of the first build the tickets above."""
    guests = _guest_orders(landing, FIRST_BUILD_THROUGH)
    by_email = {o["email"].strip().lower(): o for o in guests}
    matched, moved = list(by_email.values())[:2]
    assert matched["email"].strip().lower() != moved["email"].strip().lower()

    # The day's contacts file, whose header decides the columns (exports add columns over time).
    contacts = landing / "crm" / "contacts" / f"contacts_{MOVE_DAY.isoformat()}.csv"
    columns = contacts.read_text().splitlines()[0].split(",")
    with contacts.open("a") as f:
        for contact_id, email in ((NEW_CONTACT, matched["email"]), (NEW_REQUESTER, REQUESTER_EMAIL)):
            values = {
                "contact_id": contact_id,
                "email": email,
                "first_name": "Moved",
                "last_name": "History",
                "country": "GB",
                "segment": "smb",
                "acquisition_channel": "referral",
                "account_manager": "",
                "marketing_opt_in": "false",
                "is_internal": "false",
                "created_at": f"{MOVE_DAY.isoformat()}T09:00:00Z",
                "updated_at": f"{MOVE_DAY.isoformat()}T09:00:00Z",
            }
            f.write(",".join(values.get(c, "") for c in columns) + "\n")

    # An existing contact with a completed order after the moved one: the move pulls its first order back.
    later = [
        o
        for path in sorted((landing / "orders" / "orders").glob("orders_*.jsonl"))
        for o in map(json.loads, path.read_text().splitlines())
        if o.get("customer_id") and o["created_at"] > moved["created_at"]
    ]
    owner = later[-1]["customer_id"]
    orders = landing / "orders" / "orders" / f"orders_{MOVE_DAY.isoformat()}.jsonl"
    with orders.open("a") as f:
        f.write(json.dumps({**moved, "customer_id": owner}) + "\n")

    tickets = [
        path
        for path in sorted((landing / "support" / "tickets").glob("tickets_*.csv"))
        if _file_day(path) <= FIRST_BUILD_THROUGH
    ][-1]
    columns = tickets.read_text().splitlines()[0].split(",")
    day = _file_day(tickets).isoformat()
    with tickets.open("a") as f:
        requesters = {
            MATCHED_TICKET: (matched["email"], ""),
            MOVED_TICKET: (moved["email"], ""),
            **REQUESTER_TICKETS,
        }
        for ticket_id, (email, customer_id) in requesters.items():
            values = {
                "ticket_id": ticket_id,
                "requester_email": email,
                "customer_id": customer_id,
                "channel": "email",
                "priority": "normal",
                "category": "delivery",
                "status": "solved",
                "created_at": f"{day}T08:00:00Z",
                "first_response_at": f"{day}T09:00:00Z",
                "solved_at": f"{day}T10:00:00Z",
                "updated_at": f"{day}T10:00:00Z",
            }
            f.write(",".join(values.get(c, "") for c in columns) + "\n")
    return matched, moved, owner


def _ticket_owners(db: Path) -> dict[str, str | None]:
    """The customer of each appended ticket in fct_tickets (every one must have a row)."""
    appended = [MATCHED_TICKET, MOVED_TICKET, *REQUESTER_TICKETS]
    con = duckdb.connect(str(db))
    try:
        found = dict(
            con.execute(
                "select ticket_id, customer_id from marts.fct_tickets where ticket_id in (?, ?, ?, ?)",
                appended,
            ).fetchall()
        )
    finally:
        con.close()
    assert sorted(found) == sorted(appended), found
    return found


@pytest.mark.slow
def test_identity_moving_history_equals_full_rebuild(
    daily_landing: Path, tmp_path: Path, monkeypatch
) -> None:
    """A day whose files move old orders to another customer (a new contact with a guest's email; an order
    re-exported with a customer_id) gives the marts of a full rebuild, and the moves are visible in them."""
    source = tmp_path / "source"
    _deliver(daily_landing, source, lambda day: day <= MOVE_DAY)
    matched, moved, owner = _append_identity_moves(source)

    incremental_db, incremental_landing = tmp_path / "incremental.duckdb", tmp_path / "incremental_landing"
    _deliver(source, incremental_landing, lambda day: day <= FIRST_BUILD_THROUGH)
    _load(incremental_db, incremental_landing)
    _dbt(incremental_db, monkeypatch, backtest=BACKTEST_MOVING)
    tickets_before = _ticket_owners(incremental_db)
    _deliver(source, incremental_landing, lambda day: day == MOVE_DAY)
    _load(incremental_db, incremental_landing)
    _dbt(incremental_db, monkeypatch, backtest=BACKTEST_MOVING)

    full_db, full_landing = tmp_path / "full.duckdb", tmp_path / "full_landing"
    _deliver(source, full_landing, lambda day: day <= MOVE_DAY)
    _load(full_db, full_landing)
    _dbt(full_db, monkeypatch, "--full-refresh", backtest=BACKTEST_MOVING)

    con = duckdb.connect(str(incremental_db))
    try:
        owners = dict(
            con.execute(
                "select order_id, customer_id from marts.fct_orders where order_id in (?, ?)",
                [matched["order_id"], moved["order_id"]],
            ).fetchall()
        )
        guest_rows = con.execute(
            "select count(*) from marts.fct_customer_months where customer_id = 'g-' || md5(lower(trim(?)))",
            [matched["email"]],
        ).fetchone()[0]
    finally:
        con.close()
    assert owners == {matched["order_id"]: NEW_CONTACT, moved["order_id"]: owner}, owners
    guest = duckdb.connect().execute("select 'g-' || md5(lower(trim(?)))", [matched["email"]]).fetchone()[0]
    tickets_after = _ticket_owners(incremental_db)
    assert (tickets_before[MATCHED_TICKET], tickets_after[MATCHED_TICKET]) == (guest, NEW_CONTACT), (
        "the guest's ticket must move to the new contact with its email"
    )
    for ticket_id in REQUESTER_TICKETS:
        assert (tickets_before[ticket_id], tickets_after[ticket_id]) == (None, NEW_REQUESTER), (
            f"{ticket_id}: an unknown requester's ticket must move to the contact with its email or id"
        )
    assert guest_rows == 0, (
        "the guest whose orders all moved to the new contact must leave the customer months"
    )

    incremental, full = _marts(incremental_db), _marts(full_db)
    _assert_same_marts(incremental, full)
