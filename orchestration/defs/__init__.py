"""Dagster definitions by area, loaded by `load_from_defs_folder` (orchestration/definitions.py).

Each folder owns the assets, checks, schedules and sensors of its area; the code they call lives in
orchestration/lib/. Every module-level asset, check, job, schedule and sensor here is picked up.
"""
