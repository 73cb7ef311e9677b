"""Time the CLV step at scale on a simulated population.

    .venv/bin/python -m orchestration.lib.clv.benchmark --customers 1000000

Measures (1) the fits alone on numpy arrays: BG/NBD on the unique (x, tx, T) rows, Gamma-Gamma on every
repeat customer, scoring the unique rows; and (2) the whole warehouse step (fit_and_score) on a DuckDB
file holding the population as int_clv__customer_summary plus a month-end summary with `--month-ends`
earlier cuts of every customer (ages shortened by 28 days per cut: a stand-in with the right size).
Times are at the warehouse's resolution: whole days, measured in weeks (days / 7).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.lib.clv.bgnbd import fit_bgnbd, probability_alive
from orchestration.lib.clv.discounted_clv import discounted_expected_purchases
from orchestration.lib.clv.fit_in_warehouse import fit_and_score
from orchestration.lib.clv.gamma_gamma import fit_gamma_gamma
from orchestration.lib.clv.simulation import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--month-ends", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    # CDNOW-like dropout, fewer repeat buyers than simulate()'s defaults (about 60% repeat).
    d = simulate(args.customers, seed=args.seed, r=0.5, alpha=10.0, a=0.8, b=2.5, resolution=1 / 7)
    print(f"simulated {args.customers:,} customers in {time.perf_counter() - started:.1f} s")

    started, cpu = time.perf_counter(), time.process_time()
    rows, counts = np.unique(np.column_stack([d.frequency, d.recency, d.T]), axis=0, return_counts=True)
    print(
        f"unique (x, tx, T) rows: {len(rows):,} ({time.perf_counter() - started:.2f} s to find them in numpy)"
    )
    bg = fit_bgnbd(rows[:, 0], rows[:, 1], rows[:, 2], weights=counts)
    print(
        f"BG/NBD fit: {bg.seconds:.2f} s, {bg.iterations} iterations "
        f"({time.process_time() - cpu:.2f} CPU s with the unique rows), r={bg.r:.4f} alpha={bg.alpha:.4f} "
        f"a={bg.a:.4f} b={bg.b:.4f}"
    )
    repeat = d.frequency > 0
    gg = fit_gamma_gamma(d.frequency[repeat], d.monetary_value[repeat])
    print(
        f"Gamma-Gamma fit on {repeat.sum():,} repeat customers: {gg.seconds:.2f} s, "
        f"{gg.iterations} iterations, "
        f"p={gg.p:.4f} q={gg.q:.4f} v={gg.v:.4f}"
    )
    started = time.perf_counter()
    probability_alive(bg, rows[:, 0], rows[:, 1], rows[:, 2])
    discounted_expected_purchases(bg, rows[:, 0], rows[:, 1], rows[:, 2], 12, 0.10, 7.0)
    print(f"scoring {len(rows):,} rows (P(alive) + 12 monthly E[Y]): {time.perf_counter() - started:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        with duckdb.connect(str(path)) as con:
            _write_inputs(con, d, args.month_ends)
            started, cpu = time.perf_counter(), time.process_time()
            run = fit_and_score(con)
            total, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"warehouse step (fit_and_score): {total:.2f} s total, {cpu:.2f} CPU s (this process); "
            f"BG/NBD {run.bgnbd.seconds:.2f} s on "
            f"{run.bgnbd.n_rows:,} rows, Gamma-Gamma {run.gamma_gamma.seconds:.2f} s, scoring "
            f"{run.scored_rows:,} distinct rows {run.scoring_seconds:.2f} s"
        )


def _write_inputs(con: duckdb.DuckDBPyConnection, d, month_ends: int) -> None:
    n = len(d.frequency)
    customers = pa.table(
        {
            "customer_id": pa.array(np.arange(n)),
            "frequency": pa.array(d.frequency.astype(np.int64)),
            "recency_days": pa.array(np.round(d.recency * 7).astype(np.int64)),
            "t_days": pa.array(np.round(d.T * 7).astype(np.int64)),
            "monetary_value": pa.array(d.monetary_value),
        }
    )
    con.execute("create schema intermediate")
    con.register("customers_arrow", customers)
    con.execute(
        """create table intermediate.int_clv__customer_summary as
           select *, recency_days / 7.0 as recency, t_days / 7.0 as t from customers_arrow"""
    )
    con.execute(
        f"""create table intermediate.int_clv__month_end_summary as
            select customer_id, k as month_index, frequency, recency_days, t_days,
                   recency_days / 7.0 as recency, t_days / 7.0 as t, monetary_value
            from (
                select customer_id, k, frequency, least(recency_days, t_days - 28 * k) as recency_days,
                       t_days - 28 * k as t_days, monetary_value
                from intermediate.int_clv__customer_summary, range(1, {month_ends + 1}) as cuts(k)
                where t_days - 28 * k >= 0
            ) as cut"""
    )
    con.execute(
        """create table intermediate.int_clv__settings as
           select date '2025-12-31' as as_of_date, 7.0 as time_unit_days, 12 as horizon_months,
                  0.10 as annual_discount_rate, 1.0 as margin"""
    )


if __name__ == "__main__":
    main()
