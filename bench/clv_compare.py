"""The BG/NBD fit on one row per customer against the weighted fit on the unique (frequency, recency, t) rows.

    python -m bench.clv_compare --warehouse bench/out/100k/warehouse.duckdb --out clv.json

Both fits use orchestration/lib/clv's fit_bgnbd on the pipeline's own intermediate.int_clv__customer_summary;
they maximise the same likelihood, so their parameters must agree (reported as the largest relative
difference) while the time differs by how many rows the likelihood is evaluated on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb
import numpy as np

from bench.memory import cpu_seconds, rusage_peaks_bytes
from orchestration.lib.clv.bgnbd import fit_bgnbd
from orchestration.lib.clv.gamma_gamma import fit_gamma_gamma

PARAMETERS = ("r", "alpha", "a", "b")


def run(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        c = con.execute(
            """select cast(frequency as double) as x, cast(recency as double) as tx, cast(t as double) as t,
                      cast(monetary_value as double) as m
               from intermediate.int_clv__customer_summary"""
        ).fetchnumpy()
    x, tx, t, m = (np.asarray(c[k], dtype=float) for k in ("x", "tx", "t", "m"))

    started = time.perf_counter()
    rows, counts = np.unique(np.column_stack([x, tx, t]), axis=0, return_counts=True)
    unique_seconds = time.perf_counter() - started
    started = time.perf_counter()
    weighted = fit_bgnbd(rows[:, 0], rows[:, 1], rows[:, 2], weights=counts)
    weighted_wall = time.perf_counter() - started
    started = time.perf_counter()
    per_customer = fit_bgnbd(x, tx, t)
    per_customer_wall = time.perf_counter() - started
    repeat = (x > 0) & np.isfinite(m) & (m > 0)
    gg = fit_gamma_gamma(x[repeat], m[repeat])
    difference = max(
        abs(getattr(weighted, n) - getattr(per_customer, n)) / abs(getattr(per_customer, n))
        for n in PARAMETERS
    )
    return {
        "customers": len(x),
        "unique_rows": len(rows),
        "unique_rows_seconds_numpy": round(unique_seconds, 3),
        "weighted": _fit(weighted, weighted_wall + unique_seconds),
        "per_customer": _fit(per_customer, per_customer_wall),
        "max_relative_parameter_difference": difference,
        "gamma_gamma": {
            "customers": int(repeat.sum()),
            "seconds": round(gg.seconds, 3),
            "iterations": gg.iterations,
        },
        "speedup": round(per_customer_wall / (weighted_wall + unique_seconds), 1),
        "peak_rss_bytes": rusage_peaks_bytes(),
        "cpu_seconds": round(cpu_seconds(), 2),
    }


def _fit(fit, wall: float) -> dict:
    """`seconds`: wall time of the call (for the weighted fit, finding the unique rows included)."""
    return {
        "seconds": round(wall, 3),
        "optimiser_seconds": round(fit.seconds, 3),
        "iterations": fit.iterations,
        "rows": fit.n_rows,
        "log_likelihood": fit.log_likelihood,
        **{n: getattr(fit, n) for n in PARAMETERS},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run(args.warehouse)
    args.out.write_text(json.dumps(result, indent=2))
    print(
        f"clv: weighted {result['weighted']['seconds']:.2f} s on {result['unique_rows']:,} rows, "
        f"per customer {result['per_customer']['seconds']:.2f} s on {result['customers']:,} rows"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
