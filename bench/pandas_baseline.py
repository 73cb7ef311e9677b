"""What an analyst would do instead: read the landing files with pandas and compute the marts in pandas.

    python -m bench.pandas_baseline --landing bench/out/100k/landing \
        --warehouse bench/out/100k/warehouse.duckdb --out pandas.json

Reading: every file with pd.read_csv / pd.read_json(lines=True), one file at a time (the nested line items
are dropped right away: the marts below do not need them), with the file name and record number the
definitions use to pick the latest copy of a record; rows whose timestamps do not parse, and orders in a
currency without rates, are dropped (the loader quarantines them). Computing: tests/independent_model.py,
the project's own plain-pandas recomputation of identity, net revenue, lifecycle stages, retention cohorts
and customer flows from DOMAIN.md and DECISIONS.md (the test suite checks it equals the marts on the sample).
After the timed part, its cohorts and flows are compared with the pipeline's marts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

from bench.memory import GIB, TreeRssSampler, cpu_seconds, rusage_peaks_bytes
from orchestration.lib.raw_schema import RAW_TABLES
from orchestration.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "tests"))
from independent_model import RAW_TABLES_READ, build, frame_differences  # noqa: E402

MEMORY_LIMIT_BYTES = 12 * GIB


def read_landing(landing: Path) -> dict[str, pd.DataFrame]:
    frames = {}
    for table in (t for t in RAW_TABLES if t.name in RAW_TABLES_READ):
        parts = []
        for path in sorted(p for g in table.globs for p in landing.glob(g)):
            if table.format == "csv":
                df = pd.read_csv(path, dtype={c.name: str for c in table.columns if c.type == "VARCHAR"})
            else:
                df = pd.read_json(path, lines=True, dtype=False)
                df = df.drop(columns=[c for c in ("line_items",) if c in df.columns])
            df["_file"] = str(path.relative_to(landing))
            df["_line"] = range(1, len(df) + 1)
            parts.append(df)
        frames[table.name] = _clean(table, pd.concat(parts, ignore_index=True))
    return frames


def _clean(table, df: pd.DataFrame) -> pd.DataFrame:
    """Parse timestamps (any offset) to UTC, drop rows whose required timestamps do not parse."""
    for c in table.columns:
        if c.type == "TIMESTAMPTZ" and c.name in df.columns:
            df[c.name] = pd.to_datetime(df[c.name], utc=True, format="ISO8601", errors="coerce")
            if c.required:
                df = df[df[c.name].notna()]
        elif c.type == "DATE" and c.name in df.columns:
            df[c.name] = pd.to_datetime(df[c.name], format="%Y-%m-%d", errors="coerce")
    if table.name == "shop_orders":
        df = df[df["currency"].isin(["USD", "EUR", "GBP"])]
    return df


def compare(model, warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cohorts = con.sql("select * from marts.mart_retention_cohorts").df()
        flows = con.sql("select * from marts.mart_customer_flows").df()
    cohort_problems = frame_differences(
        model.cohorts,
        cohorts,
        keys=["cohort_month", "acquisition_channel", "month_offset"],
        exact=["cohort_size", "active_customers"],
        approx=["net_revenue"],
        show=3,
    )
    flow_problems = frame_differences(
        model.flows,
        flows,
        keys=["month_start", "acquisition_channel"],
        exact=["customers_start", "gained", "kept", "lost", "won_back", "customers_end"],
        show=3,
    )
    return {
        "cohort_rows": len(model.cohorts),
        "flow_rows": len(model.flows),
        "customer_month_rows": len(model.customer_months),
        "cohorts_match_marts": not cohort_problems,
        "flows_match_marts": not flow_problems,
        "differences": [p.splitlines()[0] for p in cohort_problems + flow_problems],
    }


def run(landing: Path, warehouse: Path) -> dict:
    with TreeRssSampler(limit_bytes=MEMORY_LIMIT_BYTES) as sampler:
        started = time.perf_counter()
        raw = read_landing(landing)
        read_seconds = time.perf_counter() - started
        model = build(raw)
        total = time.perf_counter() - started
    return {
        "read_seconds": round(read_seconds, 3),
        "compute_seconds": round(total - read_seconds, 3),
        "seconds": round(total, 3),
        "cpu_seconds": round(cpu_seconds(), 2),
        "rows_read": {k: len(v) for k, v in raw.items()},
        "peak_rss_bytes": {**rusage_peaks_bytes(), "tree_sampled": sampler.peak_bytes},
        "memory_limit_bytes": MEMORY_LIMIT_BYTES,
        "check": compare(model, warehouse),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run(args.landing.resolve(), args.warehouse.resolve())
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(
        f"pandas: {result['seconds']:.1f} s (read {result['read_seconds']:.1f} s), "
        f"peak {result['peak_rss_bytes']['tree_sampled'] / GIB:.2f} GiB, "
        f"cohorts match: {result['check']['cohorts_match_marts']}, "
        f"flows match: {result['check']['flows_match_marts']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
