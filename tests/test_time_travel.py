"""Time travel is exact: a build pinned to a past date D on the full landing data equals, mart by mart and row
for row, a build on the landing data as it stood on D (issue 13, points 1 and 2).

"As it stood on D" is made here from the landing files alone, in plain Python, never with the code under
test: every record whose own timestamp (UTC date) is on or before D, so orders placed after D are absent,
a ticket is in the version it had on D (solved after D: still open; re-prioritised after D: the old
priority), a contact has none of its later edits. Rows whose timestamp does not parse (the loader
quarantines them either way) stay when their file's whole period had passed by D. Orders carry no timestamp
for a status change, so a cancellation exported after D is known to both builds (DECISIONS.md).

The sample gets one extra ticket version before the copy: a ticket open on D is re-prioritised, moved to
another channel and closed after D, the case that made `stg_support__tickets` rewrite past SLA breaches.

The pinned build runs through Dagster with the run config the README documents; the as-it-stood build
through `python -m orchestration build --as-of-date D`, as a user runs them both.
"""

from __future__ import annotations

import calendar
import csv
import gzip
import io
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.settings import PROJECT_ROOT, SAMPLE_LANDING_DIR

# Two whole builds of the sample through Dagster: longer than the default timeout on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

D = date(2025, 6, 17)

# Each landing family and the field that dates one of its records ("" = undated: kept whole).
RECORD_TIME = {
    "crm/contacts": "updated_at",
    "crm/leads": "created_at",
    "crm/activities": "occurred_at",
    "orders/orders": "created_at",
    "orders/refunds": "created_at",
    "orders/exchange_rates": "rate_date",
    "orders/products": "",
    "support/tickets": "updated_at",
    "support/csat": "created_at",
    "support/nps": "submitted_at",
}
# Columns a build stamps with its own run (load time, watermark): not part of what a mart says.
RUN_COLUMNS = {"_processed_through", "_loaded_at"}


# ------------------------------------------------------------------ landing files as text records


def read_records(path: Path) -> tuple[str | None, list]:
    """(CSV header line or None for JSON lines, records): CSV rows as dicts, JSON lines as raw text."""
    text = (gzip.open(path, "rt") if path.suffix == ".gz" else path.open()).read()
    if ".csv" in path.name:
        header, _, body = text.partition("\n")
        return header, list(csv.DictReader(io.StringIO(text)))
    return None, [line for line in text.splitlines() if line.strip()]


def write_records(path: Path, header: str | None, records: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if header is None:
        text = "".join(line + "\n" for line in records)
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header.split(","), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        text = out.getvalue()
    with gzip.open(path, "wt") if path.suffix == ".gz" else path.open("w") as f:
        f.write(text)


def field_of(record, name: str) -> str | None:
    if isinstance(record, dict):
        return record.get(name) or None
    try:
        value = json.loads(record).get(name)
    except (json.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def utc_dates(values: list[str | None]) -> pd.Series:
    """UTC calendar date of each ISO-8601 text (no offset = UTC); NaT when it does not parse."""
    parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601", errors="coerce")
    return parsed.dt.date


def export_period(path: Path) -> tuple[date, date] | None:
    """First and last day of a landing file's period label (a month or a day), None for another label."""
    found = re.search(r"_(\d{4})-(\d{2})(?:-(\d{2}))?\.", path.name)
    if not found:
        return None
    first = date(int(found[1]), int(found[2]), int(found[3] or 1))
    if found[3]:
        return first, first
    return first, date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])


def landing_as_it_stood(full: Path, out: Path, day: date) -> dict[str, int]:
    """Copy `full` to `out` keeping each record dated on or before `day`; returns rows dropped per family.

    A record dated by `day` but exported in a later file (a late order, a re-export) is appended, in file
    order, to the file of the period `day` falls in: still after every earlier copy (the loader keeps the
    copy of the latest file, then line), without a later file that is nearly empty (the raw volume check
    would rightly call it a collapsed export). A record whose date does not parse is kept only from a file
    whose whole period had passed by `day`."""
    dropped = {}
    for family, time_field in RECORD_TIME.items():
        dropped[family] = 0
        kept: dict[Path, tuple[str | None, list]] = {}
        late: list = []
        for path in sorted((full / family).iterdir()):
            header, records = read_records(path)
            period = export_period(path) or (date.min, date.min)
            if time_field:
                dates = utc_dates([field_of(r, time_field) for r in records])
                keep = [(d <= day) if pd.notna(d) else period[1] <= day for d in dates]
                dropped[family] += len(records) - sum(keep)
                records = [r for r, k in zip(records, keep, strict=True) if k]
            if period[0] > day:
                late += records
            elif records:
                kept[path] = (header, records)
        if late and kept:
            last = max(kept)
            kept[last] = (kept[last][0], kept[last][1] + late)
        for path, (header, records) in kept.items():
            write_records(out / family / path.name, header, records)
    return dropped


def reprioritise_a_ticket_after(landing: Path, day: date) -> dict:
    """Append to `landing` a later version of a ticket that was open on `day`: another priority and
    channel, closed the day after. Returns that version."""
    versions = []
    for path in sorted((landing / "support/tickets").iterdir()):
        versions += [{**r, "_path": path} for r in read_records(path)[1]]
    frame = pd.DataFrame(versions)
    frame["created"] = utc_dates(frame["created_at"].tolist())
    frame["updated"] = pd.to_datetime(frame["updated_at"], utc=True, format="ISO8601", errors="coerce")
    last = frame.sort_values("updated").groupby("ticket_id").tail(1)
    solved = utc_dates(last["solved_at"].tolist())
    candidates = last[
        (last["created"] < day)
        & (last["updated"].dt.date > day)
        & (solved.isna() | (solved > day)).to_numpy()
    ]
    assert len(candidates), "the sample has no ticket open on D and updated after it"
    chosen = candidates.sort_values("ticket_id").iloc[0]
    when = (chosen["updated"] + pd.Timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    version = {c: chosen[c] for c in read_records(chosen["_path"])[0].split(",")}
    version.update(
        priority="urgent" if version["priority"] != "urgent" else "low",
        channel="phone" if version["channel"] != "phone" else "chat",
    )
    version["original"] = {"priority": chosen["priority"], "channel": chosen["channel"]}
    version.update(status="closed", solved_at=when, first_response_at=version["first_response_at"] or when)
    version["updated_at"] = when
    header, records = read_records(chosen["_path"])
    write_records(chosen["_path"], header, [*records, {k: v for k, v in version.items() if k != "original"}])
    return version


# ------------------------------------------------------------------ the two builds


def readme_run_config(as_of: date) -> dict:
    """The run config README.md documents for pinning as_of_date, with its date replaced by `as_of`."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    found = re.search(
        r"`(\{\"ops\": \{\"dbt_before_clv\": \{\"config\": \{\"as_of_date\".*?\}\}\}\})`", readme
    )
    assert found, "README.md no longer documents the as_of_date run config"
    documented = json.loads(found[1])
    for op in documented["ops"].values():
        op["config"]["as_of_date"] = as_of.isoformat()
    return documented


def run_env(root: Path, landing: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RW_") and k != "DAGSTER_HOME"}
    env.update(
        RW_LANDING_DIR=str(landing),
        RW_DUCKDB_PATH=str(root / "warehouse.duckdb"),
        RW_SERVING_DIR=str(root / "serving"),
        RW_REPORTS_DIR=str(root / "reports"),
    )
    return env


@pytest.fixture(scope="module")
def landings(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("time_travel_landing")
    full = root / "full"
    for family in RECORD_TIME:
        for path in (SAMPLE_LANDING_DIR / family).iterdir():
            (full / family).mkdir(parents=True, exist_ok=True)
            (full / family / path.name).write_bytes(path.read_bytes())
    reprioritised = reprioritise_a_ticket_after(full, D)
    stood = root / "as_it_stood"
    dropped = landing_as_it_stood(full, stood, D)
    return {"full": full, "stood": stood, "dropped": dropped, "reprioritised": reprioritised}


@pytest.fixture(scope="module")
def pinned(landings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Full landing, as_of_date pinned to D with the README's run config, through Dagster."""
    from dagster import DagsterInstance

    from orchestration.definitions import make_definitions
    from orchestration.settings import Settings

    root = tmp_path_factory.mktemp("time_travel_pinned")
    env = run_env(root, landings["full"])
    previous = {k: os.environ.get(k) for k in env if k.startswith("RW_")}
    os.environ.update({k: v for k, v in env.items() if k.startswith("RW_")})
    try:
        defs = make_definitions(Settings.from_env())
        result = defs.resolve_job_def("build_warehouse").execute_in_process(
            run_config=readme_run_config(D), instance=DagsterInstance.ephemeral(), raise_on_error=False
        )
    finally:
        for k, v in previous.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    failures = [e.message for e in result.all_events if e.is_step_failure]
    assert result.success, f"pinned build failed: {failures}"
    return root / "warehouse.duckdb"


@pytest.fixture(scope="module")
def as_it_stood(landings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The landing as it stood on D, built with `python -m orchestration build --as-of-date D`."""
    root = tmp_path_factory.mktemp("time_travel_as_it_stood")
    done = subprocess.run(
        [sys.executable, "-m", "orchestration", "build", "--as-of-date", D.isoformat()],
        cwd=PROJECT_ROOT,
        env=run_env(root, landings["stood"]),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, f"CLI build failed:\n{done.stderr[-4000:]}"
    return root / "warehouse.duckdb"


def read_table(path: Path, relation: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.sql(f"select * from {relation}").df()
    frame = frame.drop(columns=[c for c in frame.columns if c in RUN_COLUMNS])
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    key = frame.assign(**{c: frame[c].round(6) for c in floats})
    order = key.sort_values(list(frame.columns), na_position="last", kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def mart_names(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
    return [r[0] for r in rows]


# ------------------------------------------------------------------ tests


def test_the_landing_as_it_stood_leaves_out_what_happened_after_d(landings):
    """Guards the comparison against a D after which nothing happened."""
    dropped = landings["dropped"]
    for family in ("orders/orders", "support/tickets", "crm/contacts", "orders/refunds", "support/nps"):
        assert dropped[family] > 0, family
    ticket = landings["reprioritised"]
    assert ticket["priority"] != ticket["original"]["priority"]


def test_both_builds_are_pinned_to_d(pinned, as_it_stood):
    for path in (pinned, as_it_stood):
        with duckdb.connect(str(path), read_only=True) as con:
            resolved = con.execute("select as_of_date from intermediate.int_as_of_date__resolved").fetchall()
            last_month_end = con.execute("select max(month_end) from marts.fct_customer_months").fetchone()[0]
        assert resolved == [(D,)]
        assert last_month_end == D


def test_the_reprioritised_ticket_keeps_its_priority_and_channel_on_d(pinned, landings):
    ticket = landings["reprioritised"]
    with duckdb.connect(str(pinned), read_only=True) as con:
        row = con.execute(
            "select priority, channel, solved_at from marts.fct_tickets where ticket_id = ?",
            [ticket["ticket_id"]],
        ).fetchone()
    assert row == (ticket["original"]["priority"], ticket["original"]["channel"], None)


def test_every_mart_is_the_same_row_for_row(pinned, as_it_stood):
    names = mart_names(pinned)
    assert names == mart_names(as_it_stood)
    assert len(names) >= 10
    problems = []
    for name in names:
        expected, actual = read_table(as_it_stood, f"marts.{name}"), read_table(pinned, f"marts.{name}")
        try:
            assert len(expected) > 0, "empty"
            pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=1e-9, atol=1e-9)
        except AssertionError as err:
            problems.append(f"{name}: {str(err)[:1500]}")
    assert not problems, "\n\n".join(problems)


def test_the_clv_fit_is_the_same(pinned, as_it_stood):
    columns = "as_of_date, r, alpha, a, b, p, q, v, time_unit_days, horizon_months"
    expected = read_table(as_it_stood, f"(select {columns} from clv.parameters)")
    actual = read_table(pinned, f"(select {columns} from clv.parameters)")
    pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=1e-9)
