"""One measured run of the real Dagster job, in its own process (so its peak memory is its own).

    python -m bench.pipeline --root bench/out/100k --landing bench/out/100k/landing --out run.json

Builds Settings under `root`, binds the Definitions to them with make_definitions, executes the
build_warehouse job in process on an ephemeral instance, and times each stage from the run's event log:
a step's time runs from its STEP_START to its STEP_SUCCESS/STEP_FAILURE event. dbt tests run inside the
two `dbt build` steps, so their share is taken out of those steps with dbt's own run_results.json: the time
during which only tests (and unit tests) were executing counts as checks, the rest of the step (models,
dbt start-up, Dagster's event handling) stays with the dbt stage.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

from bench.intervals import Interval, union_seconds
from bench.memory import GIB, TreeRssSampler, rusage_peaks_bytes
from orchestration.settings import DBT_PROJECT_DIR, Settings

STAGES = ("load", "dbt_before_clv", "clv", "dbt_after_clv", "checks", "publish")
DBT_STEPS = {"dbt_before_clv": "dbt_before_clv", "dbt_after_clv": "dbt_after_clv"}
CHECK_TYPES = ("test", "unit_test")


def settings_for(root: Path, landing: Path) -> Settings:
    return Settings(
        landing_dir=landing.resolve(),
        duckdb_path=(root / "warehouse.duckdb").resolve(),
        serving_dir=(root / "serving").resolve(),
        reports_dir=(root / "reports").resolve(),
    )


def run(root: Path, landing: Path, artifacts: Path | None = None) -> dict:
    """One job run on the warehouse under `root`; dbt's manifests and run results are kept in `artifacts`
    (default `root`): the increment keeps its own, so the floor always reads the full build's SQL."""
    settings = settings_for(root, landing)
    artifacts = artifacts or root
    artifacts.mkdir(parents=True, exist_ok=True)
    with TreeRssSampler() as sampler:
        started = time.time()
        from dagster import DagsterInstance

        from orchestration.definitions import make_definitions
        from orchestration.defs.clv.assets import clv_assets
        from orchestration.defs.raw.assets import raw_assets
        from orchestration.defs.serving.assets import serving_assets
        from orchestration.defs.transform.dbt import dbt_after_clv, dbt_before_clv

        defs = make_definitions(settings)
        job = defs.resolve_job_def("build_warehouse")
        instance = DagsterInstance.ephemeral()
        loaded = time.time()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        finished = time.time()
        logs = instance.all_logs(result.run_id)

    stage_of_op = {
        **{a.node_def.name: "load" for a in raw_assets},
        dbt_before_clv.node_def.name: "dbt_before_clv",
        **{a.node_def.name: "clv" for a in clv_assets},
        dbt_after_clv.node_def.name: "dbt_after_clv",
        **{a.node_def.name: "publish" for a in serving_assets},
    }
    steps = _steps(logs)
    for step in steps.values():
        step["stage"] = stage_of_op.get(step["step_key"], "checks")  # asset-check ops
    dbt = {
        op: _dbt_run_results(op, result.run_id, artifacts, steps.get(op)) for op in DBT_STEPS if op in steps
    }

    stages = {name: {"seconds": 0.0, "cpu_seconds": 0.0, "steps": 0, "windows": []} for name in STAGES}
    for step in steps.values():
        step["cpu_seconds"] = round(sampler.cpu_between(step["start"], step["end"]), 2)
        s = stages.setdefault(step["stage"], {"seconds": 0.0, "cpu_seconds": 0.0, "steps": 0, "windows": []})
        s["seconds"] += step["seconds"]
        s["cpu_seconds"] += step["cpu_seconds"]
        s["steps"] += 1
        s["windows"].append((step["start"], step["end"]))
    for op, d in dbt.items():
        # CPU of the tests is not measured apart from the models': prorated by their share of the step
        share = d["checks_only_seconds"] / d["step_seconds"] if d["step_seconds"] else 0.0
        moved = steps[op]["cpu_seconds"] * share
        stages[DBT_STEPS[op]]["seconds"] -= d["checks_only_seconds"]
        stages[DBT_STEPS[op]]["cpu_seconds"] -= moved
        stages["checks"]["seconds"] += d["checks_only_seconds"]
        stages["checks"]["cpu_seconds"] += moved
    for s in stages.values():
        s["cpu_seconds"] = round(s["cpu_seconds"], 2)
        # checks inside the dbt steps have no window of their own: their peak is the dbt stages'
        s["peak_rss_bytes"] = max((sampler.peak_between(a, b) for a, b in s.pop("windows")), default=None)
        s["seconds"] = round(s["seconds"], 3)

    checks = [
        e for e in logs if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    failed_checks = [
        f"{c.dagster_event.event_specific_data.asset_key.to_user_string()}:"
        f"{c.dagster_event.event_specific_data.check_name}"
        for c in checks
        if not c.dagster_event.event_specific_data.passed
    ]
    return {
        "success": result.success,
        "failed_steps": [k for k, s in steps.items() if s["status"] != "STEP_SUCCESS"],
        "startup_seconds": round(loaded - started, 3),
        "run_seconds": round(finished - loaded, 3),
        "run_cpu_seconds": round(sampler.cpu_between(loaded, finished), 2),
        "load_average_1m": os.getloadavg()[0],
        "stages": stages,
        "steps": steps,
        "dbt": dbt,
        "asset_check_evaluations": len(checks),
        "failed_checks": failed_checks,
        "peak_rss_bytes": {
            **rusage_peaks_bytes(),
            "tree_sampled": sampler.peak_bytes,
        },
        "warehouse_bytes": Path(settings.duckdb_path).stat().st_size
        if Path(settings.duckdb_path).exists()
        else 0,
    }


def _steps(logs) -> dict[str, dict]:
    steps: dict[str, dict] = {}
    for entry in logs:
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            steps[entry.step_key] = {
                "step_key": entry.step_key,
                "start": entry.timestamp,
                "status": "STARTED",
            }
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in steps:
            step = steps[entry.step_key]
            step.update(end=entry.timestamp, status=kind, seconds=round(entry.timestamp - step["start"], 3))
    for step in steps.values():  # a step that never finished (should not happen in process) has no time
        step.setdefault("end", step["start"])
        step.setdefault("seconds", 0.0)
    return steps


def _dbt_run_results(op: str, run_id: str, artifacts: Path, step: dict | None) -> dict:
    """Split one dbt step by dbt's run_results.json: node times, check-only time, slowest models."""
    targets = sorted((DBT_PROJECT_DIR / "target").glob(f"{op}-{run_id[:7]}-*"))
    results = []
    for target in targets:
        path = target / "run_results.json"
        if path.exists():
            results += json.loads(path.read_text())["results"]
            shutil.copy(path, artifacts / f"run_results_{op}.json")
            shutil.copy(target / "manifest.json", artifacts / f"manifest_{op}.json")  # its compiled SQL
        shutil.rmtree(target, ignore_errors=True)  # one directory per invocation; ours, not needed again
    by_type: dict[str, list[Interval]] = {}
    models = []
    for r in results:
        kind = r["unique_id"].split(".", 1)[0]
        spans = [
            (_ts(t["started_at"]), _ts(t["completed_at"])) for t in r.get("timing", []) if t.get("started_at")
        ]
        if spans:
            by_type.setdefault(kind, []).append((min(a for a, _ in spans), max(b for _, b in spans)))
        if kind in ("model", "snapshot"):
            models.append(
                {
                    "name": r["unique_id"].split(".")[-1],
                    "seconds": round(r["execution_time"], 3),
                    "status": r["status"],
                }
            )
    builds = by_type.get("model", []) + by_type.get("snapshot", []) + by_type.get("seed", [])
    checks = [i for k in CHECK_TYPES for i in by_type.get(k, [])]
    everything = [i for v in by_type.values() for i in v]
    nodes_seconds = union_seconds(everything)
    step_seconds = step["seconds"] if step else 0.0
    return {
        "nodes": {k: len(v) for k, v in by_type.items()},
        "step_seconds": step_seconds,
        "nodes_wall_seconds": round(nodes_seconds, 3),
        "models_wall_seconds": round(union_seconds(builds), 3),
        "checks_wall_seconds": round(union_seconds(checks), 3),
        "checks_only_seconds": round(union_seconds(checks, minus=builds), 3),
        "overhead_seconds": round(step_seconds - nodes_seconds, 3),
        "slowest_models": sorted(models, key=lambda m: -m["seconds"])[:10],
        "failed": [r["unique_id"] for r in results if r["status"] in ("error", "fail")],
    }


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--artifacts", type=Path, help="where dbt's manifests and run results go (default root)"
    )
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    artifacts = args.artifacts.resolve() if args.artifacts else None
    result = run(args.root.resolve(), args.landing.resolve(), artifacts)
    args.out.write_text(json.dumps(result, indent=2))
    peak = result["peak_rss_bytes"]["tree_sampled"] / GIB
    print(
        f"pipeline: run {result['run_seconds']:.1f} s, tree peak {peak:.2f} GiB, success={result['success']}"
    )
    return 0 if result["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
