"""The engine floor: the warehouse's own transformations as plain SQL on one DuckDB connection.

    python -m bench.floor prepare --root bench/out/100k     # untimed: raw copy + the compiled SQL
    python -m bench.floor run --root bench/out/100k --landing bench/out/100k/landing --out floor.json

`prepare` copies the raw schema of the pipeline's warehouse into <root>/floor/warehouse.duckdb (same file
name, so the compiled SQL's catalog "warehouse" resolves) and merges the manifests of the pipeline's two
`dbt build` runs, which hold the SQL dbt compiled and ran. `run` then, without dbt or Dagster:

1. reads every landing file into a scratch schema with DuckDB's CSV/JSON readers (the least a load can do:
   no validation, quarantine or ledger);
2. executes each model's compiled SQL as CREATE TABLE/VIEW in the manifest's dependency order, the models
   downstream of `tag:clv_scored` after the CLV step, which is called directly (fit_and_score);
3. runs every dbt data test's compiled query once (unit tests are skipped: they run on fixtures).

`--explain a,b` also writes EXPLAIN ANALYZE of those models (after the build) to <root>/explain/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

from bench.memory import TreeRssSampler, cpu_seconds, rusage_peaks_bytes
from orchestration.lib.clv.backtest import fit_backtest
from orchestration.lib.clv.fit_in_warehouse import fit_and_score
from orchestration.lib.raw_schema import RAW_TABLES

AFTER_CLV_TAG = "clv_scored"
SNAPSHOT_COLUMNS = """, md5(cast(contact_id as varchar) || '|' || cast(updated_at as varchar)) as dbt_scd_id,
    updated_at as dbt_updated_at, updated_at as dbt_valid_from, cast(null as timestamp) as dbt_valid_to"""


def floor_dir(root: Path) -> Path:
    return root / "floor"


def prepare(root: Path) -> None:
    """Copy raw.* of the built warehouse into a fresh floor database, next to the SQL the pipeline ran."""
    target = floor_dir(root)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with duckdb.connect(str(target / "warehouse.duckdb")) as con:
        con.execute(f"attach '{root / 'warehouse.duckdb'}' as built (read_only)")
        con.execute("create schema raw")
        tables = con.execute(
            "select table_name from duckdb_tables() where database_name = 'built' and schema_name = 'raw'"
        ).fetchall()
        for (name,) in tables:
            con.execute(f'create table raw."{name}" as select * from built.raw."{name}"')
    (target / "manifest.json").write_text(json.dumps(compiled_manifest(root)))


def compiled_manifest(root: Path) -> dict:
    """The pipeline's two `dbt build` manifests merged: each holds the compiled SQL of the nodes it ran."""
    manifests = [json.loads(p.read_text()) for p in sorted(root.glob("manifest_dbt_*.json"))]
    if not manifests:
        raise FileNotFoundError(f"no manifest_dbt_*.json in {root}: run bench.pipeline first")
    merged = manifests[0]
    for other in manifests[1:]:
        for uid, node in other["nodes"].items():
            if node.get("compiled_code") and not merged["nodes"][uid].get("compiled_code"):
                merged["nodes"][uid] = node
    return merged


def build_order(manifest: dict) -> tuple[list[dict], list[dict], list[dict]]:
    """(nodes before the CLV step, nodes after it, data tests), each list in dependency order."""
    nodes = {
        uid: n
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] in ("model", "snapshot") and n["config"].get("enabled", True)
    }
    graph = {uid: [d for d in n["depends_on"]["nodes"] if d in nodes] for uid, n in nodes.items()}
    order = list(TopologicalSorter(graph).static_order())
    after: set[str] = {uid for uid, n in nodes.items() if AFTER_CLV_TAG in n["tags"]}
    for uid in order:  # descendants of a tagged node, in order, so parents are seen first
        if any(d in after for d in graph[uid]):
            after.add(uid)
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    return (
        [nodes[u] for u in order if u not in after],
        [nodes[u] for u in order if u in after],
        sorted(tests, key=lambda n: n["unique_id"]),
    )


def _ddl(node: dict) -> str | None:
    materialized = node["config"]["materialized"]
    sql, relation = node["compiled_code"], node["relation_name"]
    if materialized == "ephemeral":
        return None  # inlined into its children's compiled SQL
    if node["resource_type"] == "snapshot":  # what a first snapshot run creates
        return f"create or replace table {relation} as select *{SNAPSHOT_COLUMNS} from ({sql}) as s"
    kind = "view" if materialized == "view" else "table"
    return f"create or replace {kind} {relation} as {sql}"


def _execute(con: duckdb.DuckDBPyConnection, nodes: list[dict], timings: dict[str, float]) -> float:
    started = time.perf_counter()
    for node in nodes:
        ddl = _ddl(node)
        if ddl is None:
            continue
        con.execute(f'create schema if not exists "{node["schema"]}"')
        t = time.perf_counter()
        con.execute(ddl)
        timings[node["name"]] = round(time.perf_counter() - t, 3)
    return time.perf_counter() - started


def _load_files(con: duckdb.DuckDBPyConnection, landing: Path) -> float:
    """Every landing file read into a scratch table per raw table with DuckDB's readers (then dropped)."""
    started = time.perf_counter()
    con.execute("create schema if not exists floor_load")
    for table in RAW_TABLES:
        files = sorted(str(p) for g in table.globs for p in landing.glob(g))
        if not files:
            continue
        if table.format == "csv":
            source = f"read_csv({files}, header = true, union_by_name = true, filename = true)"
            select = "*"
        else:
            source = f"read_json({files}, format = 'newline_delimited', filename = true)"
            select = f"{table.parent_key}, unnest({table.unnest}, recursive := true)" if table.unnest else "*"
        con.execute(f"create or replace table floor_load.{table.name} as select {select} from {source}")
    seconds = time.perf_counter() - started
    con.execute("drop schema floor_load cascade")
    return seconds


def run(root: Path, landing: Path, explain: list[str], skip: tuple[str, ...] = ()) -> dict:
    """`skip` may hold "load" and "tests" (their times are then None) when only the transformations fit."""
    manifest = json.loads((floor_dir(root) / "manifest.json").read_text())
    before, after, tests = build_order(manifest)
    timings: dict[str, float] = {}
    cpu = {}
    with TreeRssSampler() as sampler, duckdb.connect(str(floor_dir(root) / "warehouse.duckdb")) as con:
        con.execute("set TimeZone = 'UTC'")
        c = cpu_seconds()
        load_seconds = None if "load" in skip else _load_files(con, landing)
        cpu["load"], c = cpu_seconds() - c, cpu_seconds()
        before_seconds = _execute(con, before, timings)
        cpu["before_clv"], c = cpu_seconds() - c, cpu_seconds()
        t = time.perf_counter()
        clv_run = fit_and_score(con)
        clv_seconds = time.perf_counter() - t
        # The pipeline's clv_backtest step (mart_clv_backtest reads what it writes), every cutoff fitted.
        fit_backtest(con, reuse=False)
        cpu["clv"], c = cpu_seconds() - c, cpu_seconds()
        after_seconds = _execute(con, after, timings)
        cpu["after_clv"], c = cpu_seconds() - c, cpu_seconds()
        t = time.perf_counter()
        failing = 0
        for test in [] if "tests" in skip else tests:
            failing += con.execute(f"select count(*) > 0 from ({test['compiled_code']}) as t").fetchone()[0]
        tests_seconds = None if "tests" in skip else time.perf_counter() - t
        cpu["tests"] = cpu_seconds() - c
        profiles = _explain(con, manifest, explain, root / "explain")
    return {
        "load_seconds": None if load_seconds is None else round(load_seconds, 3),
        "before_clv_seconds": round(before_seconds, 3),
        "clv_seconds": round(clv_seconds, 3),
        "after_clv_seconds": round(after_seconds, 3),
        "transform_seconds": round(before_seconds + clv_seconds + after_seconds, 3),
        "tests_seconds": None if tests_seconds is None else round(tests_seconds, 3),
        "skipped": list(skip),
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "transform_cpu_seconds": round(cpu["before_clv"] + cpu["clv"] + cpu["after_clv"], 2),
        "load_average_1m": os.getloadavg()[0],
        "tests": len(tests),
        "tests_with_failing_rows": int(failing),
        "models": len(before) + len(after),
        "clv_bgnbd_seconds": round(clv_run.bgnbd.seconds, 3) if clv_run.bgnbd else None,
        "model_seconds": dict(sorted(timings.items(), key=lambda kv: -kv[1])),
        "explain_analyze_top_operators": profiles,
        "peak_rss_bytes": {**rusage_peaks_bytes(), "tree_sampled": sampler.peak_bytes},
    }


def _explain(con: duckdb.DuckDBPyConnection, manifest: dict, names: list[str], out: Path) -> dict[str, list]:
    """EXPLAIN ANALYZE of each model's SQL: the full profile to <out>/<model>.json, its costliest operators
    (name, seconds, rows, what it does) returned."""
    by_name = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    top: dict[str, list] = {}
    for name in (n for n in names if n in by_name):
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        sql = by_name[name]["compiled_code"]
        profile = con.execute(f"explain (analyze, format json) {sql}").fetchone()[-1]
        (out / f"{name}.json").write_text(profile)
        operators = list(_operators(json.loads(profile)["operator"]))
        operators.sort(key=lambda o: -o["seconds"])
        top[name] = [{"query_seconds": round(time.perf_counter() - started, 2)}, *operators[:6]]
    return top


def _operators(nodes: list[dict]):
    for node in nodes:
        info = node.get("extra_info", {})
        detail = "; ".join(
            f"{k}: {v}" for k, v in info.items() if k not in ("Estimated Cardinality",) and isinstance(v, str)
        )
        yield {
            "operator": node.get("name"),
            "seconds": round(node.get("timing", 0.0), 3),
            "rows": node.get("intermediate_rows"),
            "detail": detail[:300],
        }
        yield from _operators(node.get("children", []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=("prepare", "run"))
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--landing", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--explain", default="", help="comma-separated model names to EXPLAIN ANALYZE")
    parser.add_argument("--skip", default="", help="comma-separated parts not to run: load, tests")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.action == "prepare":
        prepare(root)
        return 0
    skip = tuple(s for s in args.skip.split(",") if s)
    result = run(root, args.landing.resolve(), [n for n in args.explain.split(",") if n], skip)
    args.out.write_text(json.dumps(result, indent=2))
    parts = ("load_seconds", "transform_seconds", "tests_seconds")
    print("floor: " + ", ".join(f"{p} {result[p]}" for p in parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
