"""Fit BG/NBD and Gamma-Gamma on the warehouse's CLV summaries and write the clv schema, on one connection.

Reads (dbt models, schema `intermediate`): int_clv__settings (one row), int_clv__customer_summary,
int_clv__month_end_summary. Writes: clv.rfm_scores and clv.parameters (replaced together in one
transaction) and clv.fit_history (appended: one row per model per fit attempt, failed ones included).
Aggregation and de-duplication run in DuckDB; Python only sees the unique (frequency, recency_days, t_days)
rows, with recency and t in time units (days / clv_time_unit_days, computed by the summaries), and the
repeat customers' (frequency, monetary_value) columns as numpy arrays. Days are the resolution: customers
are compressed on integer days, never on floored weeks (DECISIONS.md, CLV).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.lib.clv import bgnbd, gamma_gamma
from orchestration.lib.clv.bgnbd import BgNbdFit, BgNbdParameters, fit_bgnbd, probability_alive
from orchestration.lib.clv.discounted_clv import horizon_purchases
from orchestration.lib.clv.fit_record import ClvFitError, FitRecord
from orchestration.lib.clv.gamma_gamma import GammaGammaFit, fit_gamma_gamma

INPUT_SCHEMA = "intermediate"
OUTPUT_SCHEMA = "clv"

FIT_HISTORY_DDL = f"""
create table if not exists {OUTPUT_SCHEMA}.fit_history (
    fit_id varchar not null, as_of_date date, model varchar not null,
    r double, alpha double, a double, b double, p double, q double, v double,
    log_likelihood double, customers bigint, rows bigint, converged boolean not null,
    iterations integer, seconds double, message varchar, fitted_at timestamptz not null
)"""
PARAMETERS_DDL = f"""
create or replace table {OUTPUT_SCHEMA}.parameters (
    as_of_date date not null, r double not null, alpha double not null, a double not null,
    b double not null, p double not null, q double not null, v double not null,
    time_unit_days double not null, horizon_months integer not null, annual_discount_rate double not null,
    margin double not null, fitted_at timestamptz not null
)"""
SCORE_COLUMNS = ("p_alive", "expected_purchases", "discounted_expected_purchases")


@dataclass(frozen=True)
class ClvSettings:
    as_of_date: date
    time_unit_days: float
    horizon_months: int
    annual_discount_rate: float
    margin: float


@dataclass(frozen=True)
class ClvRun:
    """What one run of the step did; bgnbd/gamma_gamma are None when there was nothing to fit."""

    fit_id: str
    settings: ClvSettings
    bgnbd: BgNbdFit | None
    gamma_gamma: GammaGammaFit | None
    scored_rows: int
    scoring_seconds: float
    fitted_at: datetime


def fit_and_score(con: duckdb.DuckDBPyConnection, max_iterations: int = 1000) -> ClvRun:
    """Fit both models as of the settings' as_of_date, score every (frequency, recency, t) the marts need.

    On a failed fit, records the attempt(s) in clv.fit_history, leaves rfm_scores and parameters as they
    were, and raises ClvFitError. With no customer who has purchased, writes empty tables."""
    fit_id, fitted_at = uuid.uuid4().hex, datetime.now(UTC)
    settings = read_settings(con)
    con.execute(f"create schema if not exists {OUTPUT_SCHEMA}")
    con.execute(FIT_HISTORY_DDL)
    _check_summary(con)

    # Fixed row order: floating-point sums depend on it, and the same data must give the same fit every run.
    # recency and t are functions of the day counts, so min() picks the one value of each group.
    rows = con.execute(
        f"""select cast(frequency as double) as frequency, cast(min(recency) as double) as recency,
                   cast(min(t) as double) as t, cast(count(*) as double) as customers
            from {INPUT_SCHEMA}.int_clv__customer_summary
            group by frequency, recency_days, t_days order by frequency, recency_days, t_days"""
    ).fetchnumpy()
    if len(rows["customers"]) == 0:
        _replace_outputs(con, settings, None, None, _empty_scores(con), fitted_at)
        return ClvRun(fit_id, settings, None, None, 0, 0.0, fitted_at)

    repeat = con.execute(
        f"""select cast(frequency as double) as frequency, cast(monetary_value as double) as monetary_value
            from {INPUT_SCHEMA}.int_clv__customer_summary where frequency > 0 and monetary_value > 0
            order by customer_id"""
    ).fetchnumpy()

    records: list[FitRecord] = []
    failures: list[str] = []
    bg = gg = None
    try:
        bg = fit_bgnbd(rows["frequency"], rows["recency"], rows["t"], rows["customers"], max_iterations)
        records.append(_record_of(bg, bgnbd.MODEL))
    except ClvFitError as err:
        records.append(err.record or _bare_record(bgnbd.MODEL, err.reason))
        failures.append(err.reason)
    try:
        gg = fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"], max_iterations=max_iterations)
        records.append(_record_of(gg, gamma_gamma.MODEL))
    except ClvFitError as err:
        records.append(err.record or _bare_record(gamma_gamma.MODEL, err.reason))
        failures.append(err.reason)
    if failures:
        con.execute("begin")
        _append_history(con, fit_id, settings, records, fitted_at)
        con.execute("commit")
        raise ClvFitError("; ".join(failures))

    started = time.perf_counter()
    scores = score_rows(con, bg, settings)
    scoring_seconds = time.perf_counter() - started
    con.execute("begin")
    try:
        _replace_outputs(con, settings, bg, gg, scores, fitted_at)
        _append_history(con, fit_id, settings, records, fitted_at)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return ClvRun(fit_id, settings, bg, gg, scores.num_rows, scoring_seconds, fitted_at)


def read_settings(con: duckdb.DuckDBPyConnection) -> ClvSettings:
    found = con.execute(
        f"""select as_of_date, time_unit_days, horizon_months, annual_discount_rate, margin
            from {INPUT_SCHEMA}.int_clv__settings"""
    ).fetchall()
    if len(found) != 1 or any(v is None for v in found[0]):
        raise ClvFitError(
            f"{INPUT_SCHEMA}.int_clv__settings must hold exactly one complete row, found {found}"
        )
    as_of, unit, horizon, rate, margin = found[0]
    return ClvSettings(as_of, float(unit), int(horizon), float(rate), float(margin))


def score_rows(con: duckdb.DuckDBPyConnection, bg: BgNbdParameters, settings: ClvSettings) -> pa.Table:
    """P(alive), E[Y(horizon)] and discounted E[Y] of every distinct (frequency, recency_days, t_days) in
    either summary (customers now, and each customer at each month end for the equity mart)."""
    keys = con.sql(
        f"""select frequency, recency_days, t_days, min(recency) as recency, min(t) as t
            from (
                select frequency, recency_days, t_days, recency, t
                from {INPUT_SCHEMA}.int_clv__customer_summary
                union all
                select frequency, recency_days, t_days, recency, t
                from {INPUT_SCHEMA}.int_clv__month_end_summary
                where frequency is not null
            ) as summaries
            group by frequency, recency_days, t_days"""
    ).to_arrow_table()
    x, tx, T = (keys.column(c).to_numpy().astype(float) for c in ("frequency", "recency", "t"))
    expected, discounted = horizon_purchases(
        bg, x, tx, T, settings.horizon_months, settings.annual_discount_rate, settings.time_unit_days
    )
    scores = {
        "p_alive": probability_alive(bg, x, tx, T),
        "expected_purchases": expected,
        "discounted_expected_purchases": discounted,
    }
    for name, values in scores.items():
        if not np.all(np.isfinite(values)):
            row = int(np.argmin(np.isfinite(values)))
            raise ClvFitError(f"{name} is not finite for frequency={x[row]}, recency={tx[row]}, t={T[row]}")
    for name in SCORE_COLUMNS:
        keys = keys.append_column(name, pa.array(scores[name]))
    return keys


def _check_summary(con: duckdb.DuckDBPyConnection) -> None:
    bad = con.execute(
        f"""select customer_id, frequency, recency, t from {INPUT_SCHEMA}.int_clv__customer_summary
            where frequency is null or recency is null or t is null or frequency < 0 or recency < 0
               or recency > t
            limit 1"""
    ).fetchall()
    if bad:
        raise ClvFitError(
            f"{INPUT_SCHEMA}.int_clv__customer_summary has an invalid row "
            f"(customer_id, frequency, recency, t) = {bad[0]}: "
            "frequency and recency must be >= 0 and recency <= t"
        )


def _empty_scores(con: duckdb.DuckDBPyConnection) -> pa.Table:
    keys = con.sql(
        f"""select frequency, recency_days, t_days, recency, t
            from {INPUT_SCHEMA}.int_clv__customer_summary where false"""
    ).to_arrow_table()
    for name in SCORE_COLUMNS:
        keys = keys.append_column(name, pa.array([], pa.float64()))
    return keys


def _replace_outputs(
    con: duckdb.DuckDBPyConnection,
    settings: ClvSettings,
    bg: BgNbdFit | None,
    gg: GammaGammaFit | None,
    scores: pa.Table,
    fitted_at: datetime,
) -> None:
    con.register("clv_scores_arrow", scores)
    try:
        con.execute(f"create or replace table {OUTPUT_SCHEMA}.rfm_scores as select * from clv_scores_arrow")
    finally:
        con.unregister("clv_scores_arrow")
    con.execute(PARAMETERS_DDL)
    if bg is not None and gg is not None:
        con.execute(
            f"insert into {OUTPUT_SCHEMA}.parameters values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                settings.as_of_date,
                bg.r,
                bg.alpha,
                bg.a,
                bg.b,
                gg.p,
                gg.q,
                gg.v,
                settings.time_unit_days,
                settings.horizon_months,
                settings.annual_discount_rate,
                settings.margin,
                fitted_at,
            ],
        )


def _append_history(
    con: duckdb.DuckDBPyConnection,
    fit_id: str,
    settings: ClvSettings,
    records: list[FitRecord],
    fitted_at: datetime,
) -> None:
    for rec in records:
        par = rec.parameters
        con.execute(
            f"insert into {OUTPUT_SCHEMA}.fit_history values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                fit_id,
                settings.as_of_date,
                rec.model,
                *(par.get(n) for n in ("r", "alpha", "a", "b", "p", "q", "v")),
                rec.log_likelihood if np.isfinite(rec.log_likelihood) else None,
                rec.n_customers,
                rec.n_rows,
                rec.converged,
                rec.iterations,
                rec.seconds,
                rec.message,
                fitted_at,
            ],
        )


def _record_of(fit: BgNbdFit | GammaGammaFit, model: str) -> FitRecord:
    names = bgnbd.NAMES if model == bgnbd.MODEL else gamma_gamma.NAMES
    return FitRecord(
        model=model,
        parameters={n: getattr(fit, n) for n in names},
        log_likelihood=fit.log_likelihood,
        n_customers=fit.n_customers,
        n_rows=fit.n_rows,
        converged=fit.converged,
        iterations=fit.iterations,
        message=fit.message,
        seconds=fit.seconds,
    )


def _bare_record(model: str, reason: str) -> FitRecord:
    return FitRecord(model, {}, float("nan"), 0, 0, False, 0, reason, 0.0)
