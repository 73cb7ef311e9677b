"""Run the real pipeline (`python -m orchestration build`) in a subprocess that can be SIGKILLed at a chosen
moment, and compare warehouses row by row. Used by tests/test_reliability_faults.py.

Kill points are reached deterministically without any hook in the product code: the subprocess runs a small
bootstrap (FAULT_BOOTSTRAP) that wraps one function of the pipeline so it prints
`reliability-fault-point <name>` to stderr and sleeps; the test waits for that line, then kills the whole
process group (the pipeline and its dbt child) with SIGKILL. Points (env RW_RELIABILITY_FAULT):

- mid_file:      inside the transaction of orders/orders/orders_2024-03.jsonl, after its rows were inserted
                 and before its ledger row (the last statement before commit);
- between_files: after crm/contacts/contacts_2024-02.csv committed, before the next contacts file;
- clv:           inside the CLV step's transaction, after clv.rfm_scores/parameters were replaced and before
                 the fit history row and the commit.

A kill during dbt needs no wrapper: the test kills when dbt has streamed a given model's materialization.
The bootstrap also stubs the static dbt docs page of the publish step (a separate dbt invocation the serving
tests cover), to keep these runs short.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import numpy as np

from orchestration.lib.raw_schema import RAW_TABLES

ROOT = Path(__file__).resolve().parent.parent
FAULT_ENV = "RW_RELIABILITY_FAULT"
MARKER = "reliability-fault-point"
DOUBLE_TOLERANCE = 1e-6  # relative, and absolute times the column's largest value (see multiset_differences)
PIPELINE_SALT = "reliability-pii-salt-never-logged"  # RW_PII_SALT of every run: must appear in no output

FAULT_BOOTSTRAP = """
import os, sys, time

fault = os.environ.get("RW_RELIABILITY_FAULT", "")

def pause(name):
    print(f"reliability-fault-point {name}", file=sys.stderr, flush=True)
    time.sleep(600)

import orchestration.lib.serving.dbt_docs as dbt_docs
dbt_docs.generate_static_docs = lambda build_db, out: None

if fault == "mid_file":
    from orchestration.lib.loads import ledger
    record = ledger.record
    def paused_record(con, table_name, file, *args, **kwargs):
        if table_name == "shop_orders" and file.endswith("orders_2024-03.jsonl"):
            pause("mid_file")
        return record(con, table_name, file, *args, **kwargs)
    ledger.record = paused_record
elif fault == "between_files":
    from orchestration.lib.loads import load_batch
    commit_file = load_batch.commit_file
    def paused_commit_file(con, plan, *args, **kwargs):
        report = commit_file(con, plan, *args, **kwargs)
        if plan.path.name == "contacts_2024-02.csv":
            pause("between_files")
        return report
    load_batch.commit_file = paused_commit_file
elif fault == "clv":
    import orchestration.lib.clv.fit_in_warehouse as fit
    append = fit._append_history
    def paused_append(con, *args, **kwargs):
        pause("clv")
        return append(con, *args, **kwargs)
    fit._append_history = paused_append

from orchestration.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


class PipelineRun:
    """One `python -m orchestration build` in its own process group, its stderr collected line by line."""

    def __init__(self, landing: Path, database: Path, data_dir: Path, fault: str = "") -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RW_") and k != "DAGSTER_HOME"}
        env.update(
            {
                "RW_DATA_DIR": str(data_dir),
                "RW_PII_SALT": PIPELINE_SALT,
                FAULT_ENV: fault,
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            }
        )
        cmd = [
            sys.executable,
            "-c",
            FAULT_BOOTSTRAP,
            "build",
            "--landing",
            str(landing),
            "--duckdb",
            str(database),
        ]
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def wait_for(self, text: str, timeout: float = 600) -> str:
        """Block until a stderr line contains `text`; fail if the run ends or the timeout passes first."""
        deadline = time.monotonic() + timeout
        checked = 0
        with self._seen:
            while True:
                for line in self.lines[checked:]:
                    if text in line:
                        return line
                checked = len(self.lines)
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(
                        f"run ended ({self.proc.returncode}) before {text!r}:\n{self.tail()}"
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {text!r} within {timeout}s:\n{self.tail()}")
                self._seen.wait(timeout=1)

    def kill(self) -> None:
        """SIGKILL the pipeline and every child (dbt), as a crash or an OOM kill of the container would."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        assert self.proc.wait(timeout=60) == -signal.SIGKILL
        self._reader.join(timeout=30)

    def finish(self, timeout: float = 900) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=30)
        return code

    def tail(self, n: int = 40) -> str:
        return "".join(self.lines[-n:])


# -------------------------------------------------------------------------------- comparing two warehouses
def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog = ? and table_schema = ?",
        [catalog, schema],
    ).fetchall()
    return {r[0] for r in rows}


def multiset_differences(
    database: Path, reference: Path, schema: str, ignore: dict[str, set[str]] | None = None
) -> dict[str, tuple[int, int]]:
    """{table: (rows missing from `database`, rows extra in it)} against `reference`, for every table of
    `schema` in either. Columns in `ignore[table]` (or `ignore["*"]`) are left out; a table in only one of
    them counts all its rows.

    Rows are multisets over the non-double columns (EXCEPT ALL both ways, so a duplicated row counts as
    extra). The rows that match are then paired (both sides sorted the same way) and their doubles compared
    within DOUBLE_TOLERANCE of the column's scale; a pair that differs counts as one missing and one extra.
    Why a tolerance: the CLV fit is maximum likelihood to a convergence tolerance, and two runs on identical
    data converge to parameters equal to ~1e-7 relative (its input rows arrive in no fixed order)."""
    ignore = ignore or {}
    with duckdb.connect(str(database), read_only=True) as con:
        con.execute(f"attach '{reference}' as ref (read_only)")
        here = con.execute("select current_database()").fetchone()[0]
        found: dict[str, tuple[int, int]] = {}
        mine, theirs = _tables(con, here, schema), _tables(con, "ref", schema)
        for table in sorted(mine | theirs):
            if table not in mine or table not in theirs:
                catalog = "ref" if table in theirs else here
                n = con.execute(f'select count(*) from {catalog}.{schema}."{table}"').fetchone()[0]
                found[table] = (n, 0) if table in theirs else (0, n)
                continue
            skip = ignore.get(table, set()) | ignore.get("*", set())
            columns = [(c, t) for c, t in _columns(con, "ref", schema, table) if c not in skip]
            assert [c for c, _ in columns] == [
                c for c, _ in _columns(con, here, schema, table) if c not in skip
            ], f"{schema}.{table}: columns differ"
            exact = [f'"{c}"' for c, t in columns if t != "DOUBLE"] or ["1"]
            doubles = [c for c, t in columns if t == "DOUBLE"]
            key = ", ".join(exact)
            missing, extra = con.execute(
                f"""select
                    (select count(*) from (select {key} from ref.{schema}."{table}"
                        except all select {key} from {here}.{schema}."{table}")),
                    (select count(*) from (select {key} from {here}.{schema}."{table}"
                        except all select {key} from ref.{schema}."{table}"))"""
            ).fetchone()
            if doubles and missing == extra == 0:
                order = ", ".join([*exact, *(f'"{c}"' for c in doubles)])
                a, b = (
                    con.execute(f'select {order} from {cat}.{schema}."{table}" order by all').df()
                    for cat in (here, "ref")
                )
                differs = np.zeros(len(a), dtype=bool)
                for c in doubles:
                    x, y = a[c].to_numpy(float), b[c].to_numpy(float)
                    scale = np.nanmax(np.abs(y)) if np.isfinite(y).any() else 0.0
                    close = np.isclose(
                        x, y, rtol=DOUBLE_TOLERANCE, atol=DOUBLE_TOLERANCE * scale, equal_nan=True
                    )
                    differs |= ~close
                missing = extra = int(differs.sum())
            found[table] = (missing, extra)
    return found


def ledger_problems(database: Path) -> list[str]:
    """Ways the raw layer disagrees with its own ledger (empty = consistent): per raw table, the rows and
    quarantined rows equal what the latest ledger entry of each file says it loaded; no file's rows are in
    a table without a ledger entry that holds rows; no (file, line) is loaded twice."""
    problems = []
    with duckdb.connect(str(database), read_only=True) as con:
        if "_load_ledger" not in _tables(con, con.execute("select current_database()").fetchone()[0], "raw"):
            return problems
        for table in RAW_TABLES:
            exists = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'raw' and table_name = ?",
                [table.name],
            ).fetchone()[0]
            if not exists:
                continue
            per_file = con.execute(
                f"""with latest as (
                    select file, status, rows_accepted, rows_quarantined from raw._load_ledger
                    where table_name = ?
                    qualify row_number() over (partition by file order by loaded_at desc) = 1
                ), holding as (select * from latest where status in ('loaded', 'changed_after_load')),
                loaded as (select _file as file, count(*) as n from raw."{table.name}" group by 1),
                quarantined as (
                    select file, count(*) as n from raw._quarantine where table_name = ? group by 1
                )
                select coalesce(h.file, l.file, q.file), h.rows_accepted, coalesce(l.n, 0),
                    h.rows_quarantined, coalesce(q.n, 0)
                from holding h full join loaded l using (file) full join quarantined q using (file)""",
                [table.name, table.name],
            ).fetchall()
            for file, accepted, n, quarantined, nq in per_file:
                if accepted is None or (accepted, quarantined) != (n, nq):
                    problems.append(
                        f"raw.{table.name} {file}: ledger says {accepted} rows + {quarantined} quarantined, "
                        f"table holds {n} + {nq}"
                    )
            key = "_file, _line" + (f', "{table.key}"' if table.unnest else "")
            repeated = con.execute(
                f'select count(*) from (select {key} from raw."{table.name}" '
                "group by all having count(*) > 1)"
            ).fetchone()[0]
            if repeated:
                problems.append(f"raw.{table.name}: {repeated} (file, line) loaded more than once")
    return problems
