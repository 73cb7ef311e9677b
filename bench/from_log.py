"""A partial result from the log of a scale run that was stopped before its pipeline run finished.

    python -m bench.from_log --log bench/out/run_1m.log --scale 1m

When a run is stopped (the machine's time ran out), the Dagster event log of the in-process run is gone,
but its console log holds every step's start and end (to the second) and dbt's time per model. This
rebuilds the finished steps' stages from those lines, marks the result `partial`, and writes it where
bench/run.py would (bench/results/<scale>.json) so RESULTS.md shows what was measured, and nothing else.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from bench.data import SCALES
from bench.pipeline import STAGES
from bench.report import write_results_md
from bench.run import OUT_DIR, RESULTS_DIR, machine

STEP = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+0000 - dagster - DEBUG - build_warehouse - (\S+) - \d+ - (\S+) - "
    r"(STEP_START|STEP_SUCCESS|STEP_FAILURE) - "
)
DBT_MODEL = re.compile(r"\d+ of \d+ OK created sql \w+ model \w+\.(\w+) .*in (\d+\.\d+)s\]")


def _stage(step_key: str) -> str:
    if step_key.startswith("raw__"):
        return "load"
    if step_key in ("dbt_before_clv", "dbt_after_clv"):
        return step_key
    if step_key == "clv_fit":
        return "clv"
    return "publish" if "published_marts" in step_key else "checks"


def parse(log: Path) -> dict:
    steps: dict[str, dict] = {}
    models = []
    run_id = None
    for line in log.read_text(errors="replace").splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        if m := STEP.match(line):
            at = datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
            if run_id is None:
                run_id = m[2]
            if m[2] != run_id:  # a later run in the same log (the increment)
                break
            if m[4] == "STEP_START":
                steps[m[3]] = {"step_key": m[3], "start": at, "status": "STARTED", "stage": _stage(m[3])}
            elif m[3] in steps:
                steps[m[3]].update(end=at, status=m[4], seconds=at - steps[m[3]]["start"])
        elif (m := DBT_MODEL.search(line)) and run_id is not None:
            models.append({"name": m[1], "seconds": float(m[2]), "status": "success"})
    unfinished = [k for k, s in steps.items() if s["status"] != "STEP_SUCCESS"]
    started = {s["stage"] for s in steps.values()}
    stages: dict[str, dict] = {}
    for i, name in enumerate(STAGES):
        mine = [s for s in steps.values() if s["stage"] == name]
        # steps run one after another: a stage is complete once a later stage has started
        later = any(n in started for n in STAGES[i + 1 :] if n != "checks")
        finished = all(s["status"] == "STEP_SUCCESS" for s in mine)
        done = bool(mine) and finished and (later or name == "publish")
        total = sum(s.get("seconds", 0.0) for s in mine)
        stages[name] = {"seconds": total if done else None, "steps": len(mine)}
        if mine and not done:
            stages[name]["finished_steps_seconds"] = sum(s["seconds"] for s in mine if "seconds" in s)
    return {
        "partial": True,
        "source": f"console log {log.name} (steps to the second; the run was stopped)",
        "success": None,
        "stopped_in_steps": unfinished,
        "stages": stages,
        "steps": steps,
        "dbt": {"from_log": {"slowest_models": sorted(models, key=lambda m: -m["seconds"])[:10]}},
        "peak_rss_bytes": {},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--scale", choices=tuple(SCALES), required=True)
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    result = {
        "scale": scale.name,
        "generator": {
            "customers": scale.customers,
            "seed": scale.seed,
            "start": str(scale.start),
            "end": str(scale.end),
            "held_back_day": str(scale.end),
        },  # fmt: skip
        "measured_at": datetime.fromtimestamp(args.log.stat().st_ctime, UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "pipeline": parse(args.log),
    }
    counts = OUT_DIR / scale.name / "partial_counts.json"
    if counts.exists():
        result["data"] = json.loads(counts.read_text())
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{scale.name}.json").write_text(json.dumps(result, indent=2))
    print(write_results_md())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
