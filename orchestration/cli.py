"""`retention-warehouse`: the warehouse's command, installed into .venv/bin by `make install`.

    retention-warehouse build [--landing DIR] [--as-of-date YYYY-MM-DD] [--full-refresh]
    retention-warehouse serving list | rollback [--to BUILD_ID] | publish
    retention-warehouse generate --customers N --seed S --start DATE --end DATE --out DIR

Each command is the module a developer would run (`python -m orchestration build`,
`python -m orchestration.serving`, `python -m seeds.generate`) under one name; `COMMAND --help` lists its
options.
"""

from __future__ import annotations

import argparse
import sys

EXIT_CODES = """exit codes:
  0  done (a build that succeeded with failed warning checks also exits 0; the alert says which)
  1  the command ran and did not succeed: a build step or a blocking check failed (the alert was sent),
     or a rollback was refused
  2  the command line is wrong: unknown command or option, or a bad value"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="retention-warehouse",
        description=__doc__.split("\n\n")[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command",
        choices=("build", "serving", "generate"),
        help="build: load landing files and build everything through Dagster; serving: list or roll back "
        "the BI copy; generate: write synthetic landing files",
    )
    parser.add_argument("options", nargs=argparse.REMAINDER, help="the command's options (COMMAND --help)")
    args = parser.parse_args(argv)
    prog = f"retention-warehouse {args.command}"
    if args.command == "build":
        from orchestration.__main__ import main as build

        return build(["build", *args.options], prog="retention-warehouse")
    if args.command == "serving":
        from orchestration.serving import main as serving

        return serving(args.options, prog=prog)
    from seeds.generate import main as generate

    return generate(args.options, prog=prog)


if __name__ == "__main__":
    sys.exit(main())
