"""Command line: `python -m orchestration build [--landing DIR] [--as-of-date YYYY-MM-DD]` builds the
warehouse through Dagster.

A failed build exits 1 and sends the same alert the sensors send for runs started in Dagster (log file and
optional webhook, orchestration/lib/alerts.py): cron or CI calling this is watched like the schedule is.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path


def build_parser(prog: str = "python -m orchestration") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="load landing files and build every asset through Dagster")
    build.add_argument(
        "--landing", type=Path, help="landing directory (default: RW_LANDING_DIR or the sample)"
    )
    build.add_argument("--duckdb", type=Path, help="build database path (default: RW_DUCKDB_PATH)")
    build.add_argument(
        "--full-refresh", action="store_true", help="rebuild the incremental facts from every raw row"
    )
    build.add_argument(
        "--as-of-date",
        type=date.fromisoformat,
        help="analysis date YYYY-MM-DD: every mart as if later events had not happened "
        "(default: the latest event in the data); a pinned date rebuilds every fact",
    )
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m orchestration") -> int:
    args = build_parser(prog).parse_args(argv)

    from dagster import DagsterInstance

    from orchestration.definitions import make_definitions
    from orchestration.lib import nothing_new
    from orchestration.lib.alerts import ALERTED_BY_TAG, send_run_alert
    from orchestration.lib.summary import render
    from orchestration.settings import Settings

    # Flags override the environment's settings; the Definitions are bound to the result.
    settings = Settings.from_env(
        landing_dir=args.landing.resolve() if args.landing else None,
        duckdb_path=args.duckdb.resolve() if args.duckdb else None,
    )
    defs = make_definitions(settings)

    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    dbt_config = {
        **({"full_refresh": True} if args.full_refresh else {}),
        **({"as_of_date": args.as_of_date.isoformat()} if args.as_of_date else {}),
    }
    # The run config the README documents: both dbt steps get the same vars.
    run_config = (
        {"ops": {op: {"config": dbt_config} for op in ("dbt_before_clv", "dbt_after_clv")}}
        if dbt_config
        else {}
    )
    result = defs.resolve_job_def("build_warehouse").execute_in_process(
        run_config=run_config,
        instance=instance,
        raise_on_error=False,
        # execute_in_process evaluates no sensor: this process sends the run's alert, and the tag tells the
        # alert sensors of a daemon on the same DAGSTER_HOME not to send it twice.
        # A full refresh rewrites every row, so every check judges every row (lib/nothing_new.py).
        tags={ALERTED_BY_TAG: "cli", **({nothing_new.FULL_CHECKS_TAG: "true"} if args.full_refresh else {})},
    )
    alert = send_run_alert(instance, result.run_id, settings)
    if alert is not None:
        where = "the alert log" + (" and the webhook" if settings.alert_webhook_url else "")
        print(f"{alert.summary} (sent to {where}: {settings.alert_log_path()})", file=sys.stderr)
    if not result.success:
        return 1
    if instance.get_run_by_id(result.run_id).tags.get(nothing_new.RUN_TAG) == "true":
        print(f"Nothing new: no new landing file in {settings.landing_dir} since the current serving build.")
        return 0
    print(render(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
