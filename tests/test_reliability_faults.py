"""Faults lose nothing: a pipeline killed with SIGKILL at any step, then rerun, ends with exactly the raw
rows, quarantine, ledger and marts of a clean build; two runs started at once wait or fail clearly and
corrupt nothing. Also the staging repairs of bad input (dedup, email variants, orphans) on the same build.

Data: the hand-worked landing fixture plus a few repair cases (REPAIRS), built through the real
`python -m orchestration build` in a subprocess (tests/reliability_pipeline.py explains the kill points).
A kill during publish is covered by tests/test_serving_crash.py (the previous build keeps serving, a rerun
publishes); the builds here publish too, into their own serving directory.

How "nothing lost, nothing duplicated" is measured (multiset_differences): for every table of `raw` and
`marts`, rows of the clean build missing from the faulted one and rows extra in it, by EXCEPT ALL both ways
(duplicates count). Ignored, because they are legitimately different per run: raw `_loaded_at`, the
quarantine's and the ledger's `loaded_at`, and the incremental facts' `_processed_through` (the raw
`_loaded_at` watermark a build had seen). No other mart column depends on the run, so marts are compared
otherwise whole; doubles rounded to 6 decimals.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from reliability_pipeline import PIPELINE_SALT, PipelineRun, ledger_problems, multiset_differences

pytestmark = pytest.mark.slow

HANDWORKED = Path(__file__).parent / "fixtures" / "handworked" / "landing"
RUN_DEPENDENT = {"*": {"_loaded_at", "loaded_at", "_processed_through"}}

E4 = (
    '{"order_id": "o-E4", "order_number": 1013, "customer_id": "c-005", "email": "erin@mail.test", '
    '"created_at": "2024-12-15T18:00:00Z", "status": "completed", "currency": "USD", "subtotal": 25.0, '
    '"discount_total": 0.0, "promo_code": null, "tax_total": 0.0, "shipping_total": 0.0, "total": 25.0, '
    '"referral_code": null, "line_items": [{"line_id": "l-E4-1", "product_id": "p-1", "quantity": 1, '
    '"unit_price": 25.0}]}'
)
GUEST_VARIANT = json.dumps(
    {
        "order_id": "o-V1", "order_number": 2001, "customer_id": None, "email": "  ALICE@Mail.TEST ",
        "created_at": "2024-12-01T10:00:00+01:00", "status": "completed", "currency": "USD",
        "subtotal": 10.0, "total": 10.0,
        "line_items": [{"line_id": "l-V1-1", "product_id": "p-1", "quantity": 1, "unit_price": 10.0}],
    }
)  # fmt: skip
TICKETS_HEADER = (
    "ticket_id,requester_email,customer_id,order_id,channel,priority,category,status,"
    "created_at,first_response_at,solved_at,updated_at"
)
# Landing files added to the hand-worked fixture: each is a bad-input class whose outcome is a repair.
REPAIRS = {
    # the same order in two files and twice in one file: one order in the marts
    "orders/orders/orders_2024-12b.jsonl": f"{E4}\n{E4}\n{GUEST_VARIANT}\n",
    # a refund for an order nobody exported: ignored by revenue, never an error
    "orders/refunds/refunds_2024-12.jsonl": json.dumps(
        {
            "refund_id": "r-X",
            "order_id": "o-NOPE",
            "created_at": "2024-12-02T09:00:00Z",
            "currency": "USD",
            "amount": 5.0,
            "reason": "damaged",
        }
    )
    + "\n",  # fmt: skip
    # a ticket for an unknown order from an email variant of Bob's; a ticket in two versions; a bad date
    "support/tickets/tickets_2024-12.csv": f"""{TICKETS_HEADER}
t-1,  BOB.SMITH@MAIL.TEST ,,o-NOPE,email,normal,delivery,open,2024-12-01T09:00:00Z,,,2024-12-01T09:00:00Z
t-2,carol@mail.test,c-003,,chat,low,other,open,2024-12-02T09:00:00Z,,,2024-12-02T09:00:00Z
t-2,carol@mail.test,c-003,,chat,low,other,solved,2024-12-02T09:00:00Z,2024-12-02T10:00:00Z,2024-12-03T09:00:00Z,2024-12-03T09:00:00Z
t-3,carol@mail.test,c-003,,chat,low,other,open,2024-02-30T09:00:00Z,,,2024-12-02T09:00:00Z
""",
}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reliability_landing") / "landing"
    shutil.copytree(HANDWORKED, root)
    for relative, text in REPAIRS.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


@pytest.fixture(scope="module")
def clean(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: one uninterrupted build of the same landing directory."""
    root = tmp_path_factory.mktemp("reliability_clean")
    run = PipelineRun(landing, root / "warehouse.duckdb", root)
    assert run.finish() == 0, run.tail()
    return root / "warehouse.duckdb"


def assert_same_as_clean(database: Path, clean: Path) -> None:
    for schema in ("raw", "marts"):
        differences = multiset_differences(database, clean, schema, RUN_DEPENDENT)
        bad = {t: d for t, d in differences.items() if d != (0, 0)}
        assert not bad, f"{schema}: (rows lost, rows extra) per table: {bad}"
    # The ledger's current entry per file: same status, checksum and counts as the clean build's.
    latest = """select table_name, file, sha256, status, rows_in_file, rows_accepted, rows_quarantined
        from raw._load_ledger
        qualify row_number() over (partition by table_name, file order by loaded_at desc) = 1
        order by 1, 2"""
    with (
        duckdb.connect(str(database), read_only=True) as con,
        duckdb.connect(str(clean), read_only=True) as ref,
    ):
        assert con.execute(latest).fetchall() == ref.execute(latest).fetchall()


def test_kill_9_at_each_step_then_rerun_equals_a_clean_build(landing: Path, clean: Path, tmp_path: Path):
    database = tmp_path / "warehouse.duckdb"

    # 1. Between files: contacts_2024-02 committed, the next contacts file not started.
    run = PipelineRun(landing, database, tmp_path, fault="between_files")
    run.wait_for("reliability-fault-point between_files")
    run.kill()
    assert ledger_problems(database) == []
    with duckdb.connect(str(database), read_only=True) as con:
        contacts = {
            r[0]
            for r in con.execute(
                "select file from raw._load_ledger where table_name = 'crm_contacts'"
            ).fetchall()
        }
        assert (
            "crm/contacts/contacts_2024-02.csv" in contacts
            and "crm/contacts/contacts_2024-03.csv" not in contacts
        )

    # 2. Mid-file: orders_2024-03 inserted but not committed. Nothing of it survives; earlier files do.
    run = PipelineRun(landing, database, tmp_path, fault="mid_file")
    run.wait_for("reliability-fault-point mid_file")
    run.kill()
    assert ledger_problems(database) == []
    with duckdb.connect(str(database), read_only=True) as con:
        files = dict(
            con.execute(
                "select file, status from raw._load_ledger where table_name = 'shop_orders'"
            ).fetchall()
        )
        assert "orders/orders/orders_2024-03.jsonl" not in files
        assert files["orders/orders/orders_2024-02.jsonl"] == "loaded"
        assert (
            con.execute("select count(*) from raw.shop_orders where _file like '%2024-03%'").fetchone()[0]
            == 0
        )

    # 3. During dbt: killed (with its dbt child) once dbt has materialized fct_orders, models still running.
    run = PipelineRun(landing, database, tmp_path)
    run.wait_for("Materialized value fct_orders.")
    run.kill()
    assert ledger_problems(database) == []
    with duckdb.connect(str(database), read_only=True) as con:
        # The reruns completed the orders file the first kill interrupted: once per table, not twice.
        assert con.execute(
            "select table_name, count(*) from raw._load_ledger "
            "where file like '%orders_2024-03%' group by 1 order by 1"
        ).fetchall() == [("shop_order_lines", 1), ("shop_orders", 1)]

    # 4. During the CLV step's transaction: rfm_scores/parameters replaced but not committed.
    run = PipelineRun(landing, database, tmp_path, fault="clv")
    run.wait_for("reliability-fault-point clv")
    run.kill()
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*) from clv.fit_history").fetchone()[0] == 0
        assert not con.execute(
            "select * from information_schema.tables where table_schema = 'clv' and table_name = 'rfm_scores'"
        ).fetchall()

    # 5. Rerun to the end: the same warehouse as the clean build.
    run = PipelineRun(landing, database, tmp_path)
    assert run.finish() == 0, run.tail()
    assert ledger_problems(database) == []
    assert_same_as_clean(database, clean)
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*) from clv.fit_history").fetchone()[0] == 2  # one fit, two models
    # The PII salt of the runs is in no log line and no file they wrote (databases, serving, reports).
    assert PIPELINE_SALT not in "".join(run.lines)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "serving.duckdb" for p in written)
    assert not [p for p in written if PIPELINE_SALT.encode() in p.read_bytes()]


def test_two_runs_at_once_wait_or_fail_clearly_and_corrupt_nothing(
    landing: Path, clean: Path, tmp_path: Path
):
    database = tmp_path / "warehouse.duckdb"
    first, second = (PipelineRun(landing, database, tmp_path) for _ in range(2))
    codes = [first.finish(), second.finish()]
    logs = "".join(first.lines + second.lines)
    # They met: one waited on DuckDB's lock (resources.connect_with_retry) or failed naming it.
    assert "is locked by another process; retry" in logs or "Could not set lock" in logs
    for run, code in zip((first, second), codes, strict=True):
        if code != 0:
            assert "lock" in run.tail(200).lower() or "another publish" in run.tail(200), run.tail()
    assert ledger_problems(database) == []
    if 0 not in codes:  # both gave up: a rerun completes
        rerun = PipelineRun(landing, database, tmp_path)
        assert rerun.finish() == 0, rerun.tail()
    assert_same_as_clean(database, clean)


# ------------------------------------------------------------------- staging repairs on the clean build
def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_an_order_exported_three_times_is_one_order(clean: Path):
    assert query(clean, "select count(*) from raw.shop_orders where order_id = 'o-E4'") == [(3,)]
    assert query(
        clean, "select count(*), sum(net_revenue) from marts.fct_orders where order_id = 'o-E4'"
    ) == [(1, 25.0)]


def test_an_email_variant_resolves_to_the_contact(clean: Path):
    assert query(clean, "select customer_id from marts.fct_orders where order_id = 'o-V1'") == [("c-001",)]
    assert query(clean, "select customer_id from marts.fct_tickets where ticket_id = 't-1'") == [("c-002",)]


def test_orphans_are_kept_where_documented_and_counted_nowhere_else(clean: Path):
    # The refund of an order nobody exported is loaded but attached to no order, so reduces no revenue.
    assert query(clean, "select count(*) from raw.shop_refunds where refund_id = 'r-X'") == [(1,)]
    assert query(clean, "select count(*) from marts.fct_orders where order_id = 'o-NOPE'") == [(0,)]
    assert query(clean, "select sum(refund_count) from marts.fct_orders") == query(
        clean,
        "select count(distinct refund_id) from raw.shop_refunds "
        "where order_id in (select order_id from raw.shop_orders)",
    )
    # The ticket about an unknown order is kept with the order id it named.
    assert query(clean, "select order_id from marts.fct_tickets where ticket_id = 't-1'") == [("o-NOPE",)]


def test_a_ticket_in_two_versions_is_its_latest_and_a_bad_date_is_quarantined(clean: Path):
    assert query(clean, "select status from marts.fct_tickets where ticket_id = 't-2'") == [("solved",)]
    assert query(clean, "select count(*) from marts.fct_tickets where ticket_id = 't-3'") == [(0,)]
    assert query(
        clean, "select file, line, column_name from raw._quarantine where table_name = 'support_tickets'"
    ) == [("support/tickets/tickets_2024-12.csv", 5, "created_at")]
