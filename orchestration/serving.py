"""`python -m orchestration.serving list | rollback [--to BUILD_ID] | publish`: manage the BI serving copy."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from orchestration.lib.serving import builds
from orchestration.settings import Settings


def main(argv: list[str] | None = None, prog: str = "python -m orchestration.serving") -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--serving-dir", type=Path, default=Path(settings.serving_dir))
    parser.add_argument("--reports-dir", type=Path, default=Path(settings.reports_dir))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list builds, newest last, marking the current one")
    rollback = sub.add_parser("rollback", help="point `current` at the previous build (or --to BUILD_ID)")
    rollback.add_argument("--to", help="the build id to switch to")
    publish = sub.add_parser("publish", help="publish the marts of the build database now")
    publish.add_argument("--source", type=Path, default=Path(settings.duckdb_path), help="build database")
    publish.add_argument(
        "--keep",
        type=int,
        default=settings.serving_keep_builds,
        help="builds to keep (RW_SERVING_KEEP_BUILDS)",
    )
    publish.add_argument("--no-dbt-docs", action="store_true", help="skip dbt docs generate")
    args = parser.parse_args(argv)
    serving_dir: Path = args.serving_dir

    if args.command == "list":
        current = builds.current_build(serving_dir)
        for build_id in builds.list_builds(serving_dir):
            manifest = json.loads((builds.builds_dir(serving_dir) / build_id / builds.MANIFEST).read_text())
            rows = sum(m["rows"] for m in manifest["marts"].values())
            mark = "*" if build_id == current else " "
            print(
                f"{mark} {build_id}  as_of {manifest['as_of_date']}  "
                f"{len(manifest['marts'])} marts  {rows:,} rows"
            )
        if current is None:
            print(f"nothing published in {serving_dir}", file=sys.stderr)
        return 0
    if args.command == "rollback":
        before = builds.current_build(serving_dir)
        try:
            target = args.to or builds.previous_build(serving_dir)
            builds.switch_current(serving_dir, target)
        except (LookupError, FileNotFoundError) as exc:
            print(f"rollback refused: {exc}", file=sys.stderr)
            return 1
        builds.copy_reports(builds.builds_dir(serving_dir) / target, args.reports_dir)
        print(f"current: {before} -> {target}")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from orchestration.lib.serving.publish import publish_marts  # imports Dagster: only when publishing

    done = publish_marts(
        args.source,
        serving_dir,
        args.reports_dir,
        keep=args.keep,
        salt=settings.pii_salt,
        dbt_docs=not args.no_dbt_docs,
    )
    print(f"published {done.build_id}: {done.build_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
