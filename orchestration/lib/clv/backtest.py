"""The CLV backtest: at each cutoff of intermediate.int_clv__backtest_summary, fit BG/NBD on the customers'
history up to the cutoff and predict each one's purchase days in the holdout that follows.

The summary is compressed in DuckDB (one row per cutoff and distinct frequency, recency and age in whole days,
with the customers sharing it), so each fit sees unique rows with counts as weights, as the main CLV fit does.
Writes, replaced together in one transaction:

- clv.backtest_predictions(cutoff_date, frequency, recency_days, t_days, expected_purchases):
  E[Y(holdout) | x, tx, T] per customer of that row (eq. 10 of Fader, Hardie and Lee 2005), times in
  clv_time_unit_days units;
- clv.backtest_fits(cutoff_date, r, alpha, a, b, log_likelihood, customers, rows, converged, message,
  input_key): one row per cutoff. A cutoff whose fit fails keeps its row (converged false, the reason in
  message) and gets no predictions: the mart shows its prediction as null instead of the whole build stopping
  on an early cutoff that holds too few customers to identify the model.

A cutoff whose input is what the previous run fitted (`input_key`: its summary rows, the time unit, the
iteration cap, the CLV code and numpy/scipy versions) keeps that run's fit and predictions: the fit is
deterministic, so refitting would give the same numbers. The cutoffs are month ends and their holdouts are
over, so most days change none of them; a late order or an identity move dated in a holdout refits its cutoff.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy

from orchestration.lib.clv.bgnbd import conditional_expected_purchases, fit_bgnbd
from orchestration.lib.clv.fit_in_warehouse import INPUT_SCHEMA, OUTPUT_SCHEMA, read_settings
from orchestration.lib.clv.fit_record import ClvFitError

PREDICTIONS_DDL = f"""
create or replace table {OUTPUT_SCHEMA}.backtest_predictions (
    cutoff_date date not null, frequency bigint not null, recency_days bigint not null,
    t_days bigint not null, expected_purchases double not null
)"""
FITS_DDL = f"""
create or replace table {OUTPUT_SCHEMA}.backtest_fits (
    cutoff_date date not null, holdout_days bigint not null, r double, alpha double, a double, b double,
    log_likelihood double, customers bigint not null, rows bigint not null, converged boolean not null,
    message varchar, input_key varchar not null
)"""
FIT_NAMES = ("cutoff_date", "holdout_days", "r", "alpha", "a", "b", "log_likelihood", "customers", "rows",
             "converged", "message", "input_key")  # fmt: skip
# What a fit depends on besides its rows: the CLV code (every module of lib/clv) and the numeric libraries.
CODE_KEY = hashlib.sha256(
    b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))
    + f"numpy {np.__version__} scipy {scipy.__version__}".encode()
).hexdigest()


@dataclass(frozen=True)
class BacktestRun:
    cutoffs: int
    failed_cutoffs: list[str]
    predicted_rows: int
    reused_cutoffs: int = 0


def fit_backtest(
    con: duckdb.DuckDBPyConnection, max_iterations: int = 1000, reuse: bool = True
) -> BacktestRun:
    """Fit and predict every cutoff of the backtest summary; replace clv.backtest_predictions and _fits.
    `reuse`: keep the previous fit of a cutoff whose input is unchanged (False: fit every cutoff)."""
    unit = read_settings(con).time_unit_days
    previous = _previous_fits(con) if reuse else {}
    # Fixed row order: floating-point sums depend on it, and the same data must give the same fit every run.
    rows = con.execute(
        f"""select cutoff_date, holdout_days, frequency, recency_days, t_days, customers
            from {INPUT_SCHEMA}.int_clv__backtest_summary order by 1, 3, 4, 5"""
    ).fetchnumpy()
    predictions: list[pa.Table] = []
    fits: list[dict] = []
    failed: list[str] = []
    reused = 0
    for cutoff in np.unique(rows["cutoff_date"]):
        at = rows["cutoff_date"] == cutoff
        x = rows["frequency"][at].astype(float)
        tx = rows["recency_days"][at] / unit
        T = rows["t_days"][at] / unit
        w = rows["customers"][at].astype(float)
        holdout_days = int(rows["holdout_days"][at][0])
        day = cutoff.astype("datetime64[D]").item()
        key = _input_key(rows, at, unit, max_iterations)
        if key in previous:
            fit, kept = previous[key]
            fits.append(fit)
            predictions.extend(kept)
            failed.extend([f"{day}: {fit['message']}"] if not fit["converged"] else [])
            reused += 1
            continue
        fit = {"cutoff_date": day, "holdout_days": holdout_days, "customers": int(w.sum()), "rows": len(x),
               "input_key": key}  # fmt: skip
        try:
            bg = fit_bgnbd(x, tx, T, w, max_iterations)
        except ClvFitError as err:
            failed.append(f"{day}: {err.reason}")
            fits.append({**fit, "converged": False, "message": err.reason})
            continue
        expected = conditional_expected_purchases(bg, holdout_days / unit, x, tx, T)
        if not np.all(np.isfinite(expected)):
            failed.append(f"{day}: a holdout prediction is not finite")
            fits.append({**fit, "converged": False, "message": "a holdout prediction is not finite"})
            continue
        fits.append(
            {**fit, "r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b,
             "log_likelihood": bg.log_likelihood, "converged": True, "message": bg.message}
        )  # fmt: skip
        predictions.append(
            pa.table({
                "cutoff_date": pa.array([day] * len(x), pa.date32()),
                "frequency": pa.array(rows["frequency"][at], pa.int64()),
                "recency_days": pa.array(rows["recency_days"][at], pa.int64()),
                "t_days": pa.array(rows["t_days"][at], pa.int64()),
                "expected_purchases": pa.array(expected, pa.float64()),
            })
        )  # fmt: skip
    _replace(con, predictions, fits)
    return BacktestRun(len(fits), failed, sum(p.num_rows for p in predictions), reused)


def _input_key(rows: dict[str, np.ndarray], at: np.ndarray, unit: float, max_iterations: int) -> str:
    digest = hashlib.sha256(f"{CODE_KEY} {unit!r} {max_iterations}".encode())
    for column in ("cutoff_date", "holdout_days", "frequency", "recency_days", "t_days", "customers"):
        digest.update(np.ascontiguousarray(rows[column][at]).tobytes())
    return digest.hexdigest()


def _previous_fits(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[dict, list[pa.Table]]]:
    """{input_key: (fit row, [its predictions])} of the previous run; empty before the first one."""
    has_key = con.execute(
        "select count(*) from duckdb_columns() where schema_name = ? and table_name = 'backtest_fits' "
        "and column_name = 'input_key'",
        [OUTPUT_SCHEMA],
    ).fetchone()[0]
    if not has_key:
        return {}
    fits = con.execute(f"select {', '.join(FIT_NAMES)} from {OUTPUT_SCHEMA}.backtest_fits").fetchall()
    predictions = con.sql(f"select * from {OUTPUT_SCHEMA}.backtest_predictions order by all").to_arrow_table()
    out = {}
    for values in fits:
        fit = dict(zip(FIT_NAMES, values, strict=True))
        mask = pc.equal(predictions["cutoff_date"], pa.scalar(fit["cutoff_date"], pa.date32()))
        kept = [predictions.filter(mask)] if fit["converged"] else []
        out[fit["input_key"]] = (fit, kept)
    return out


def _replace(con: duckdb.DuckDBPyConnection, predictions: list[pa.Table], fits: list[dict]) -> None:
    names = FIT_NAMES
    con.execute(f"create schema if not exists {OUTPUT_SCHEMA}")
    con.execute("begin")
    try:
        con.execute(PREDICTIONS_DDL)
        con.execute(FITS_DDL)
        for part in predictions:
            con.register("backtest_arrow", part)
            try:
                con.execute(f"insert into {OUTPUT_SCHEMA}.backtest_predictions select * from backtest_arrow")
            finally:
                con.unregister("backtest_arrow")
        for fit in fits:
            con.execute(
                f"insert into {OUTPUT_SCHEMA}.backtest_fits values ({', '.join('?' * len(names))})",
                [fit.get(n) for n in names],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
