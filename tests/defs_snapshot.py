"""A plain-data picture of the Definitions: every asset (group, deps), check, job, schedule and sensor.

tests/test_defs_snapshot.py compares it with the committed tests/snapshots/definitions.json, so a change
to the graph is a reviewed diff of that file. After an intended change, rewrite the file with
    .venv/bin/python tests/defs_snapshot.py
(or `make snapshot`) and commit it with the change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def snapshot(defs) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "checks": sorted(c.name for c in node.check_keys),
        }
    jobs = {}
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        jobs[job.name] = {
            "assets": len(job.asset_layer.selected_asset_keys),
            "checks": len(job.asset_layer.asset_graph.asset_check_keys),
        }
    return {
        "assets": assets,
        "checks": sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys),
        "jobs": jobs,
        "schedules": {
            s.name: {"cron": s.cron_schedule, "job": s.job_name}
            for s in sorted(defs.schedules or [], key=lambda s: s.name)
        },
        "sensors": sorted(s.name for s in defs.sensors or []),
        "resources": sorted(defs.resources or {}),
    }


def render(defs) -> str:
    return json.dumps(snapshot(defs), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from orchestration.definitions import defs

    SNAPSHOT.parent.mkdir(exist_ok=True)
    SNAPSHOT.write_text(render(defs))
    print(f"wrote {SNAPSHOT}")
