"""Write-audit-publish of the marts for BI: a new immutable build directory, checked, then swapped in.

write:   the `marts` schema only, PII masked, into builds/.tmp-<id>/serving.duckdb (old storage format) and
         one Parquet file per mart; the visual report and (optionally) the static dbt docs beside them.
         Copy-on-write from the current build: a mart whose content key (its masking plan, salt, row count
         and an order-independent sum of row hashes) equals the current build's keeps that build's Parquet
         file (hard link) and table (serving.duckdb starts as a copy of the current one; only changed marts
         are dropped and written again); the dbt docs are linked when the dbt code is unchanged.
audit:   reopen what was written: every mart's row count and columns match the build database, no
         personal column or email-shaped value is published in clear, the file has the old storage format.
publish: manifest.json last, fsync everything, rename the directory to builds/<id>, then swap `current`.

Anything that fails or is killed before the swap leaves the previous serving files untouched; the next
publish removes the leftover `.tmp-` directory.

Test hook (tests only, documented in docs/bi_connections.md): RW_SERVING_TEST_PAUSE="<stage>:<seconds>"
sleeps at `writing` (serving file half written) or `before_swap` (build complete, not yet current) and
prints "serving-test-pause <stage>" to stderr, so a test can kill -9 the publish at that point.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.lib.serving import builds, partitions
from orchestration.lib.serving.pii import EMAIL_VALUE_REGEX, ColumnPlan, PiiError, pii_salt, plan_columns
from orchestration.lib.serving.storage import SERVING_STORAGE_NUMBER, SERVING_STORAGE_VERSION, storage_number

# Not "marts.duckdb": the catalog takes the file name, and a catalog `marts` makes `marts.x` ambiguous.
SERVING_DB = "serving.duckdb"
PARQUET_DIR = "parquet"
REPORT, DBT_DOCS = builds.REPORT, builds.DBT_DOCS
DEFAULT_KEEP_BUILDS = 5
PAUSE_ENV = "RW_SERVING_TEST_PAUSE"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    build_id: str
    build_dir: Path
    manifest: dict[str, Any]
    report_path: Path
    dbt_docs_path: Path | None
    pruned: list[str]


def publish_marts(
    source_db: Path,
    serving_dir: Path,
    reports_dir: Path,
    *,
    keep: int = DEFAULT_KEEP_BUILDS,
    salt: str = "",
    dbt_docs: bool = True,
    logger: Any = log,
    inputs: str | None = None,
) -> Published:
    """Publish the `marts` schema of `source_db` as a new serving build and make it current. `inputs`: the
    fingerprint of the files and code the marts were built from (lib/nothing_new.py), None if unknown.

    `keep` and `salt` are Settings.serving_keep_builds and Settings.pii_salt (empty: the sample salt)."""
    if keep < 1:
        raise ValueError(f"RW_SERVING_KEEP_BUILDS must be at least 1, got {keep}")
    salt, sample_salt = pii_salt(salt)
    with builds.publish_lock(serving_dir):
        for stale in builds.remove_stale_tmp(serving_dir):
            logger.warning(f"removed {stale}, left by an interrupted publish")
        created = datetime.now(UTC)
        with _open_read_only(source_db) as source:
            marts = _mart_columns(source)
            # Decide every column before writing anything: a PII refusal leaves no trace.
            plans = {mart: plan_columns(mart, columns) for mart, columns in marts.items()}
            as_of, as_of_source = _as_of_date(source, marts)
            build_id = builds.new_build_id(created, json.dumps(marts, sort_keys=True))
            tmp = builds.builds_dir(serving_dir) / f"{builds.TMP_PREFIX}{build_id}"
            (tmp / PARQUET_DIR).mkdir(parents=True)
            logger.info(f"publishing {len(marts)} marts from {source_db} as build {build_id}")
            previous = _current(serving_dir)
            try:
                entries, written = _write(source, tmp, build_id, as_of, created, marts, plans, salt, previous)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)  # a failed build is never left half-written
                raise
        shared = [m for m, e in entries.items() if e.get("shared_with")]
        if shared:
            logger.info(f"{len(shared)} of {len(entries)} marts unchanged, shared with {previous[0].name}")
        code = dbt_code_state()
        try:
            docs_path = _audit_and_document(
                tmp, source_db, build_id, entries, written, dbt_docs, previous, code
            )
            manifest = {
                "build_id": build_id,
                "as_of_date": as_of.isoformat() if as_of else None,
                "as_of_date_source": as_of_source,
                "created_at": created.isoformat(),
                "source_database": str(source_db),
                "duckdb": SERVING_DB,
                "duckdb_storage_version": SERVING_STORAGE_VERSION,
                "report": REPORT,
                "dbt_docs": DBT_DOCS if docs_path else None,
                "pii_salt": "sample default" if sample_salt else "RW_PII_SALT",
                "marts": entries,
                "inputs": inputs,
                "dbt_code": code,
            }
            _write_json(tmp / builds.MANIFEST, manifest)  # last: a build without one is incomplete
            builds.make_read_only(tmp)
            builds.fsync_tree(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        final = builds.builds_dir(serving_dir) / build_id
        os.rename(tmp, final)
        builds.fsync_path(final.parent)
        _test_pause("before_swap")
        builds.switch_current(serving_dir, build_id)
        logger.info(f"serving build {build_id} is current: {serving_dir / builds.CURRENT}")

        builds.copy_reports(final, reports_dir)
        pruned = builds.prune(serving_dir, keep)
        if pruned:
            logger.info(f"pruned old builds {pruned} (keeping {keep})")
    return Published(
        build_id=build_id,
        build_dir=final,
        manifest=manifest,
        report_path=final / REPORT,
        dbt_docs_path=final / DBT_DOCS if docs_path else None,
        pruned=pruned,
    )


def _audit_and_document(
    tmp: Path,
    source_db: Path,
    build_id: str,
    entries: dict[str, dict[str, Any]],
    written: dict[str, str | None],
    dbt_docs: bool,
    previous: tuple[Path, dict[str, Any]] | None,
    code: str | None,
) -> Path | None:
    """Check what was written, then add the report (from the serving copy: exactly what BI sees) and docs."""
    _audit(tmp, build_id, entries, written)
    from orchestration.lib.serving.report import write_report

    write_report(tmp / SERVING_DB, tmp / REPORT)
    if not dbt_docs:
        return None
    if previous and code and previous[1].get("dbt_code") == code and (previous[0] / DBT_DOCS).is_file():
        os.link(previous[0] / DBT_DOCS, tmp / DBT_DOCS)  # same models, same columns: the same docs
        return tmp / DBT_DOCS
    from orchestration.lib.serving.dbt_docs import generate_static_docs

    return generate_static_docs(source_db, tmp / DBT_DOCS)


def _current(serving_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The current build's directory and manifest, the base a new build shares unchanged files with."""
    build = builds.current_build(serving_dir)
    if build is None:
        return None
    build_dir = builds.builds_dir(serving_dir) / build
    try:
        return build_dir, json.loads((build_dir / builds.MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def dbt_code_state() -> str | None:
    """The dbt code the marts were built from (lib/nothing_new.py), None without a manifest."""
    from orchestration.lib.nothing_new import code_state
    from orchestration.settings import DBT_PROJECT_DIR

    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    return code_state(manifest, manifest.stat().st_mtime_ns) if manifest.is_file() else None


def _open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """The build database, read-only, waiting out a writer's lock. Like resources.connect_with_retry, but
    without importing Dagster, so the serving CLI starts fast."""
    for wait in (1, 2, 4, 8, 16, None):
        try:
            con = duckdb.connect(str(path), read_only=True)
            con.execute("set TimeZone = 'UTC'")
            return con
        except duckdb.IOException as exc:
            if wait is None or "lock" not in str(exc).lower():
                raise
            log.warning(f"{path} is locked by a writer; retrying in {wait}s")
            time.sleep(wait)
    raise AssertionError("unreachable")


def _mart_columns(source: duckdb.DuckDBPyConnection) -> dict[str, list[list[str]]]:
    """{mart: [[column, type], ...]} for every table and view in schema `marts`."""
    rows = source.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' order by table_name, ordinal_position"
    ).fetchall()
    marts: dict[str, list[list[str]]] = {}
    for table, column, dtype in rows:
        marts.setdefault(table, []).append([column, dtype])
    if not marts:
        raise RuntimeError("the build database has no tables in schema `marts`: build the marts first")
    return marts


def _as_of_date(
    source: duckdb.DuckDBPyConnection, marts: dict[str, list[list[str]]]
) -> tuple[date | None, str]:
    """The build's analysis date: the CLV settings model, else the CLV parameters, else the last month end."""
    candidates = []
    for schema, table in source.execute(
        "select table_schema, table_name from information_schema.columns where column_name = 'as_of_date' "
        "and table_name in ('int_clv__settings', 'parameters') and table_schema in ('intermediate', 'clv') "
        "order by table_name = 'parameters'"
    ).fetchall():
        candidates.append((f'"{schema}"."{table}"', "as_of_date", f"{schema}.{table}"))
    for mart, columns in marts.items():
        for column in ("month_end", "month_start"):
            if [column, "DATE"] in columns:
                candidates.append((f'marts."{mart}"', column, f"max(marts.{mart}.{column})"))
    for relation, column, label in candidates:
        value = source.execute(f'select max("{column}")::date from {relation}').fetchone()[0]
        if value is not None:
            return value, label
    return None, "none"


def _write(
    source: duckdb.DuckDBPyConnection,
    tmp: Path,
    build_id: str,
    as_of: date | None,
    created: datetime,
    marts: dict[str, list[list[str]]],
    plans: dict[str, list[ColumnPlan]],
    salt: str,
    previous: tuple[Path, dict[str, Any]] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, str | None]]:
    """Write every mart; returns the manifest entries and, per mart, the predicate selecting the rows this
    build wrote (None: none, the mart is the previous build's) for the audit."""
    serving_file = tmp / SERVING_DB
    prev_dir, prev_marts = (previous[0], previous[1].get("marts", {})) if previous else (None, {})
    reuse_tables = bool(prev_dir and (prev_dir / SERVING_DB).is_file())
    if reuse_tables:
        shutil.copyfile(prev_dir / SERVING_DB, serving_file)  # unchanged tables and months come with it
    storage = f"storage_version '{SERVING_STORAGE_VERSION}'"
    attach = f"attach '{_sql_path(serving_file)}' as srv ({storage}, read_write)"
    source.execute(attach)
    if reuse_tables and _mostly_free(source):
        # Months deleted and inserted build after build leave free blocks; start a compact file now and then.
        source.execute("detach srv")
        serving_file.unlink()
        source.execute(attach)
        reuse_tables = False
    source.execute("set variable rw_pii_salt = ?", [salt])
    entries: dict[str, dict[str, Any]] = {}
    written: dict[str, str | None] = {}
    try:
        source.execute("create schema if not exists srv.marts")
        served = {
            name
            for (name,) in source.execute(
                "select table_name from duckdb_tables() where database_name = 'srv' and schema_name = 'marts'"
            ).fetchall()
        }
        for stale in served - set(plans):
            source.execute(f'drop table srv.marts."{stale}"')
        source.execute(
            "create or replace table srv.main._build as select ?::varchar as build_id, "
            "?::date as as_of_date, ?::timestamptz as created_at",
            [build_id, as_of, created],
        )
        for i, mart in enumerate(sorted(plans)):
            mart_write = _MartWrite(source, tmp, build_id, mart, marts[mart], plans[mart], salt)
            prior = prev_marts.get(mart)
            has_table = reuse_tables and prior is not None and mart in served
            entries[mart], written[mart] = mart_write.run(prev_dir, prior, has_table)
            if i == 0:
                _test_pause("writing")
    finally:
        source.execute("reset variable rw_pii_salt")
        source.execute("detach srv")  # checkpoints: no .wal is left beside the file
    return entries, written


def _mostly_free(source: duckdb.DuckDBPyConnection) -> bool:
    free, total = source.execute(
        "select free_blocks, total_blocks from pragma_database_size() where database_name = 'srv'"
    ).fetchone()
    return total > 0 and free * 2 > total


@dataclass
class _MartWrite:
    """One mart into the serving database and Parquet: shared with the previous build where its content (or a
    month's, for a partitioned mart: partitions.py) is the same, written again where it changed."""

    source: duckdb.DuckDBPyConnection
    tmp: Path
    build_id: str
    mart: str
    types: list[list[str]]
    plan: list[ColumnPlan]
    salt: str

    def run(
        self, prev_dir: Path | None, prior: dict[str, Any] | None, has_table: bool
    ) -> tuple[dict[str, Any], str | None]:
        self.selected = [s for s in (c.select_sql() for c in self.plan) if s]
        published = [c.name for c in self.plan if c.action != "drop"]
        column = partitions.partition_column(self.mart, self.types)
        keys = partitions.content_keys(self.source, self.mart, published, self.selected, self.salt, column)
        if not keys:  # an empty partitioned mart is served as one empty file, which keeps its columns
            column = None
            keys = partitions.content_keys(self.source, self.mart, published, self.selected, self.salt, None)
        key = partitions.mart_key(keys)
        self.rows = sum(rows for rows, _ in keys.values())
        prior = prior or {}
        if column is None:
            return self._single_file(prev_dir, prior, has_table, key)
        return self._by_month(prev_dir, prior, has_table, key, column, keys)

    def _single_file(
        self, prev_dir: Path | None, prior: dict[str, Any], has_table: bool, key: str
    ) -> tuple[dict[str, Any], str | None]:
        parquet = f"{PARQUET_DIR}/{self.mart}.parquet"
        same = prior.get("content_key") == key and "partitions" not in prior
        if same and has_table and prev_dir and (prev_dir / prior["parquet"]).is_file():
            os.link(prev_dir / prior["parquet"], self.tmp / parquet)
            return {**prior, "shared_with": prior.get("shared_with") or prev_dir.name}, None
        self._replace_table()
        self.source.execute(
            f"copy srv.marts.\"{self.mart}\" to '{_sql_path(self.tmp / parquet)}' "
            f"(format parquet, compression zstd, kv_metadata {{build_id: '{self.build_id}'}})"
        )
        return self._entry(parquet, key), "true"

    def _by_month(
        self,
        prev_dir: Path | None,
        prior: dict[str, Any],
        has_table: bool,
        key: str,
        column: str,
        keys: dict[str, tuple[int, str]],
    ) -> tuple[dict[str, Any], str | None]:
        old = prior.get("partitions", {}) if prior.get("partition_column") == column and prev_dir else {}
        kept = {
            label
            for label, (_, part_key) in keys.items()
            if old.get(label, {}).get("key") == part_key and (prev_dir / old[label]["file"]).is_file()
        }
        changed = sorted(set(keys) - kept)
        mart_dir = self.tmp / PARQUET_DIR / self.mart
        mart_dir.mkdir()
        if prior.get("content_key") == key and has_table and not changed:
            for label in kept:
                os.link(prev_dir / old[label]["file"], self.tmp / old[label]["file"])
            return {**prior, "shared_with": prior.get("shared_with") or prev_dir.name}, None
        changed_rows = sum(keys[label][0] for label in changed)
        if has_table and old and changed_rows * 2 <= self.rows:
            # The months this day changed: delete and insert them in the table the previous build served.
            dropped = sorted(set(old) - kept)
            table = f'srv.marts."{self.mart}"'
            audit = partitions.in_labels(column, changed)
            self.source.execute(f"delete from {table} where {partitions.in_labels(column, dropped)}")
            select = ", ".join(self.selected)
            self.source.execute(f'insert into {table} select {select} from marts."{self.mart}" where {audit}')
        else:
            self._replace_table()
            changed, kept, audit = sorted(keys), set(), "true"
        files = partitions.write_files(
            self.source, f'srv.marts."{self.mart}"', column, changed, mart_dir, self.build_id
        )
        months = {}
        for label, (rows, part_key) in sorted(keys.items()):
            if label in kept:
                os.link(prev_dir / old[label]["file"], self.tmp / old[label]["file"])
                months[label] = old[label]
            else:
                file = f"{PARQUET_DIR}/{self.mart}/{files[label]}"
                months[label] = {"rows": rows, "key": part_key, "file": file, "written_by": self.build_id}
        entry = self._entry(f"{PARQUET_DIR}/{self.mart}/*.parquet", key)
        return {**entry, "partition_column": column, "partitions": months}, audit

    def _replace_table(self) -> None:
        self.source.execute(
            f'create or replace table srv.marts."{self.mart}" as '
            f'select {", ".join(self.selected)} from marts."{self.mart}"'
        )

    def _entry(self, parquet: str, key: str) -> dict[str, Any]:
        served = self.source.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = 'srv' and table_schema = 'marts' and table_name = ? "
            "order by ordinal_position",
            [self.mart],
        ).fetchall()
        return {
            "rows": self.rows,
            "columns": [{"name": c, "type": t} for c, t in served],
            "masked": {c.name: c.action for c in self.plan if c.action in ("hash", "drop", "hash_guest")},
            "parquet": parquet,
            "content_key": key,
        }


def _audit(
    tmp: Path, build_id: str, entries: dict[str, dict[str, Any]], written: dict[str, str | None]
) -> None:
    """Reopen what was written, read-only, and check it against what the build database holds. Values are
    searched for email addresses in the rows this build wrote (`written`); shared rows passed that check when
    the build that wrote them was published."""
    serving_file = tmp / SERVING_DB
    problems = []
    if storage_number(serving_file) != SERVING_STORAGE_NUMBER:
        problems.append(f"{serving_file} has storage number {storage_number(serving_file)}")
    if Path(f"{serving_file}.wal").exists():
        problems.append(f"{serving_file}.wal left behind")
    with duckdb.connect(str(serving_file), read_only=True) as con:
        if con.execute("select build_id from _build").fetchall() != [(build_id,)]:
            problems.append("_build does not hold exactly this build id")
        for mart, entry in entries.items():
            rows = con.execute(f'select count(*) from marts."{mart}"').fetchone()[0]
            parquet_rows = con.execute("select count(*) from read_parquet(?)", [str(tmp / entry["parquet"])])
            if rows != entry["rows"] or parquet_rows.fetchone()[0] != entry["rows"]:
                problems.append(f"{mart}: {entry['rows']} rows in the build database, {rows} served")
            files = sorted(str(p.relative_to(tmp)) for p in tmp.glob(entry["parquet"]))
            expected = sorted(p["file"] for p in entry.get("partitions", {}).values()) or [entry["parquet"]]
            if files != expected:
                problems.append(f"{mart}: Parquet files {files}, the manifest lists {expected}")
            clear = [
                c["name"]
                for c in entry["columns"]
                if c["type"] == "VARCHAR" and c["name"] not in entry["masked"]
            ]
            if clear and written[mart]:
                counts = con.execute(
                    "select "
                    + ", ".join(f'count(*) filter (where regexp_full_match("{c}", ?))' for c in clear)
                    + f' from marts."{mart}" where {written[mart]}',
                    [EMAIL_VALUE_REGEX] * len(clear),
                ).fetchone()
                leaks = [c for c, n in zip(clear, counts, strict=True) if n]
                if leaks:
                    raise PiiError(
                        f"email addresses in clear in marts.{mart} columns {leaks}; mask them in pii.py"
                    )
    if problems:
        raise RuntimeError(f"serving build {build_id} failed its audit: " + "; ".join(problems))


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def _test_pause(stage: str) -> None:
    """Tests only: hold the publish at `stage` so a test can kill it there (see the module docstring)."""
    wanted = os.environ.get(PAUSE_ENV, "")
    if wanted.partition(":")[0] == stage:
        print(f"serving-test-pause {stage}", file=sys.stderr, flush=True)
        time.sleep(float(wanted.partition(":")[2] or 60))
