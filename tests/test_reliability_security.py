"""No one reads what they should not: served marts hold no email or CRM name in clear, secrets (the PII salt,
an alert webhook's token) never reach a file or a log, and hostile paths reach SQL only as quoted data.
Hostile landing file names, header names and values: tests/test_reliability_inputs.py."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import pytest
from serving_fixture import make_build_db

from orchestration.lib.alerts import Alert, deliver
from orchestration.lib.serving.pii import EMAIL_VALUE_REGEX
from orchestration.lib.serving.publish import publish_marts

HOSTILE = "x'); drop schema marts cascade; --"


def test_no_served_mart_column_holds_an_email_or_a_crm_name(built_warehouse):
    """Every VARCHAR value of every served mart against the CRM's emails, first and last names (exact,
    case-insensitive, trimmed) and the email shape."""
    served = Path(built_warehouse.serving_dir) / "current" / "serving.duckdb"
    with duckdb.connect(str(served), read_only=True) as con:
        con.execute(f"attach '{built_warehouse.duckdb_path}' as build (read_only)")
        con.execute(
            """create temp table personal as
            select distinct lower(trim(v)) as v from build.raw.crm_contacts,
                unnest([email, first_name, last_name, phone]) as t(v)
            where length(trim(v)) >= 3"""
        )
        n_personal = con.execute("select count(*) from personal").fetchone()[0]
        assert n_personal > 1000  # the sample's CRM really was read
        columns = con.execute(
            "select table_name, column_name from information_schema.columns where table_catalog = "
            "current_database() and table_schema = 'marts' and data_type = 'VARCHAR'"
        ).fetchall()
        assert len({t for t, _ in columns}) >= 10
        leaks = {}
        for table, column in columns:
            emails, names = con.execute(
                f'''select count(*) filter (regexp_full_match(trim("{column}"), ?)),
                    count(*) filter (lower(trim("{column}")) in (select v from personal))
                from marts."{table}"''',
                [EMAIL_VALUE_REGEX],
            ).fetchone()
            if emails or names:
                leaks[f"{table}.{column}"] = (emails, names)
    assert leaks == {}


def test_the_pii_salt_is_never_written_or_logged(tmp_path: Path, caplog):
    salt = "salt-that-must-stay-secret-7f3a"
    build = make_build_db(tmp_path / "build.duckdb")
    caplog.set_level(logging.DEBUG)
    published = publish_marts(build, tmp_path / "serving", tmp_path / "reports", salt=salt, dbt_docs=False)
    assert published.manifest["marts"]
    assert salt not in caplog.text
    files = [
        p for root in (tmp_path / "serving", tmp_path / "reports") for p in root.rglob("*") if p.is_file()
    ]
    assert len(files) >= 4
    for path in files:
        assert salt.encode() not in path.read_bytes(), path


def test_publish_into_a_serving_directory_with_a_hostile_name(tmp_path: Path):
    build = make_build_db(tmp_path / "build.duckdb")
    serving = tmp_path / HOSTILE / "serving"
    published = publish_marts(build, serving, tmp_path / "reports", dbt_docs=False)
    with duckdb.connect(str(serving / "current" / "serving.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_customers").fetchone()[0] == 120
    with duckdb.connect(str(build), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_customers").fetchone()[0] == 120
    assert published.build_dir.parent.parent == serving


@pytest.fixture()
def failing_webhook():
    """A webhook that answers 500, at a URL whose path carries a token."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/services/T000/B000/tok3n-secret-value"
    server.shutdown()


def test_a_webhook_token_never_reaches_the_alert_log(failing_webhook: str, tmp_path: Path):
    log = tmp_path / "alerts.log"
    alert = Alert(
        kind="run_failure",
        summary="raw.shop_orders failed",
        job="j",
        run_id="r1",
        run_url="http://ui/runs/r1",
    )
    assert deliver(alert, log, failing_webhook) is False  # delivered to a server that answered 500
    assert deliver(alert, log, "http://127.0.0.1:9/hook/tok3n-secret-value") is False  # refused
    # Malformed (a pasted space, a broken IPv6 host): the URL parser's error quotes the URL; not logged.
    assert deliver(alert, log, "http://127.0.0.1:9/hook/tok3n secret") is False
    assert deliver(alert, log, "http://[::1/hook/tok3n-secret-value") is False
    text = log.read_text()
    assert [json.loads(line)["kind"] for line in text.splitlines()] == [
        "run_failure",
        "alert_delivery_failed",
    ] * 4
    assert "tok3n" not in text and "/services/" not in text and "/hook/" not in text


SECRET_SHAPES = (
    r"AKIA[0-9A-Z]{16}",  # AWS access key id
    r"-----BEGIN [A-Z ]*PRIVATE KEY",
    r"hooks\.slack\.com/services/T",
    r"xox[baprs]-[0-9A-Za-z-]{10,}",  # Slack token
    r"gh[pousr]_[0-9A-Za-z]{30,}",  # GitHub token
    r"""(password|passwd|secret|api_?key|token)["']?\s*[:=]\s*["'][^"' ]{8,}""",
)


def test_no_credential_is_committed():
    root = Path(__file__).resolve().parent.parent
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    pattern = re.compile("|".join(SECRET_SHAPES), re.IGNORECASE)
    hits = []
    for name in filter(None, tracked.decode().split("\0")):
        path = root / name
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        text = path.read_bytes()
        if b"\0" in text[:8192]:
            continue  # binary
        hits += [f"{name}: {m.group(0)[:40]}" for m in pattern.finditer(text.decode("utf-8", "replace"))]
    assert hits == []
