"""Time the load stage alone: every file family into a fresh warehouse, as the raw assets load them.

    python -m bench.loads --landing bench/out/data_100k/landing --db /tmp/loads.duckdb

Prints one line per family and the total, wall and CPU seconds (this process: DuckDB's threads included),
with the 1-minute load average before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from orchestration.defs.raw.assets import file_families
from orchestration.resources import DuckDBWarehouse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True, help="a new warehouse file (removed first)")
    args = parser.parse_args()
    from orchestration.lib.loads import load_tables

    args.db.unlink(missing_ok=True)
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    warehouse = DuckDBWarehouse(path=str(args.db))
    for family in file_families():
        family_wall, family_cpu = time.perf_counter(), time.process_time()
        with warehouse.connect() as con:
            reports = load_tables(con, family, args.landing)
        rows = ", ".join(f"{name} {r.row_count}" for name, r in reports.items())
        print(
            f"{family[0].file_family:16} {time.perf_counter() - family_wall:7.2f} s wall "
            f"{time.process_time() - family_cpu:7.2f} s cpu  ({rows})"
        )
    print(
        f"{'total':16} {time.perf_counter() - wall:7.2f} s wall {time.process_time() - cpu:7.2f} s cpu  "
        f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
