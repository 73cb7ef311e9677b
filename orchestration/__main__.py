"""Command line: `python -m orchestration build [--landing DIR]` builds the warehouse through Dagster."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="load landing files and build every asset through Dagster")
    build.add_argument(
        "--landing", type=Path, help="landing directory (default: RW_LANDING_DIR or the sample)"
    )
    build.add_argument("--duckdb", type=Path, help="build database path (default: RW_DUCKDB_PATH)")
    build.add_argument(
        "--full-refresh", action="store_true", help="rebuild the incremental facts from every raw row"
    )
    args = parser.parse_args(argv)

    from dagster import DagsterInstance

    from orchestration.definitions import make_definitions
    from orchestration.lib import nothing_new
    from orchestration.lib.summary import render
    from orchestration.settings import Settings

    # Flags override the environment's settings; the Definitions are bound to the result.
    settings = Settings.from_env(
        landing_dir=args.landing.resolve() if args.landing else None,
        duckdb_path=args.duckdb.resolve() if args.duckdb else None,
    )
    defs = make_definitions(settings)

    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    dbt_config = {"config": {"full_refresh": True}} if args.full_refresh else {}
    run_config = {"ops": {op: dbt_config for op in ("dbt_before_clv", "dbt_after_clv")}} if dbt_config else {}
    # A full refresh rewrites every row, so every check judges every row (lib/nothing_new.py).
    tags = {nothing_new.FULL_CHECKS_TAG: "true"} if args.full_refresh else None
    result = defs.resolve_job_def("build_warehouse").execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False, tags=tags
    )
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"Build failed in steps: {', '.join(failed) or 'see the Dagster log above'}", file=sys.stderr)
        return 1
    if instance.get_run_by_id(result.run_id).tags.get(nothing_new.RUN_TAG) == "true":
        print(f"Nothing new: no new landing file in {settings.landing_dir} since the current serving build.")
        return 0
    print(render(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
