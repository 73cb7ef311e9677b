"""BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way:
An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284).

Story: while alive a customer buys at rate lambda ~ Gamma(r, alpha); after every purchase they drop out
with probability p ~ Beta(a, b). A customer is summarised by x = repeat purchases, tx = time of the last
one (recency) and T = time since the first purchase (age), all measured from the first purchase.

The fit is weighted: customers with the same (x, tx, T) share one likelihood term, so with whole time
units a million customers collapse to a few thousand rows. Equation numbers refer to the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, expit, gammaln, hyp2f1

from orchestration.lib.clv.fit_record import ClvFitError, FitRecord
from orchestration.lib.clv.mle import DEFAULT_MAX_ITERATIONS, dot, fit_maximum_likelihood

MODEL = "bgnbd"
NAMES = ("r", "alpha", "a", "b")


class BgNbdParameters(Protocol):
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class BgNbdFit:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int
    n_rows: int
    converged: bool
    iterations: int
    message: str
    seconds: float

    @classmethod
    def from_record(cls, record: FitRecord) -> BgNbdFit:
        p = record.parameters
        return cls(
            r=p["r"],
            alpha=p["alpha"],
            a=p["a"],
            b=p["b"],
            log_likelihood=record.log_likelihood,
            n_customers=record.n_customers,
            n_rows=record.n_rows,
            converged=record.converged,
            iterations=record.iterations,
            message=record.message,
            seconds=record.seconds,
        )


def log_likelihood(
    params: BgNbdParameters, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """ln L(r, alpha, a, b | x, tx, T) per customer (eq. 6), the x > 0 sum taken as a log-sum-exp."""
    return _log_likelihood_terms(
        params.r, params.alpha, params.a, params.b, *_as_arrays(frequency, recency, T)
    )[0]


def _log_likelihood_terms(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood and the share of its second (dropped out at tx) term, for the gradient."""
    repeat = x > 0
    common = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + x)
        - gammaln(b)
        - gammaln(a + b + x)
    )
    alive_term = -(r + x) * np.log(alpha + T)
    # Second term only for x > 0; b + x - 1 > 0 there. np.where keeps x = 0 rows out of the logs.
    dropped_term = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + tx),
        -np.inf,
    )
    total = np.logaddexp(alive_term, dropped_term)
    return common + total, np.exp(dropped_term - total)


class _Likelihood:
    """Weighted mean log-likelihood and gradient for the optimiser: eq. 6 summed over rows, with every
    special function and log evaluated once per distinct x, tx or T (a few hundred values in whole time
    units) and gathered back to the rows, so an evaluation on ~100k rows costs a few array operations."""

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
        self.w, self.total = w, float(w.sum())
        self.xs, self.x_at = np.unique(x, return_inverse=True)
        self.x_weight = np.bincount(self.x_at, weights=w, minlength=len(self.xs))
        self.Ts, self.T_at = np.unique(T, return_inverse=True)
        self.txs, self.tx_at = np.unique(tx, return_inverse=True)
        self.x = x
        self.repeat = x > 0
        # b + x - 1 only matters where x > 0; elsewhere any positive stand-in keeps the log finite.
        self.xs_repeat = self.xs > 0

    def mean_log_likelihood(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = params
        xs, x = self.xs, self.x
        log_T = np.log(alpha + self.Ts)[self.T_at]
        log_tx = np.log(alpha + self.txs)[self.tx_at]
        b_x_1 = np.where(self.xs_repeat, b + xs - 1, 1.0)
        alive_term = -(r + x) * log_T
        dropped_term = np.where(self.repeat, np.log(a) - np.log(b_x_1)[self.x_at] - (r + x) * log_tx, -np.inf)
        row_total = np.logaddexp(alive_term, dropped_term)
        dropped = np.exp(dropped_term - row_total)  # share of the "dropped out at tx" term, 0 for x = 0
        alive = 1.0 - dropped
        wd, wa = self.w * dropped, self.w * alive

        # Per distinct x: the gamma-function part of eq. 6 and its derivatives, weighted by customers.
        xw = self.x_weight
        value = (
            xw @ (gammaln(r + xs) + gammaln(b + xs) - gammaln(a + b + xs))
            + self.total * (r * np.log(alpha) - gammaln(r) + gammaln(a + b) - gammaln(b))
            + dot(self.w, row_total)
        )
        inv_T = (1.0 / (alpha + self.Ts))[self.T_at]
        inv_tx = (1.0 / (alpha + self.txs))[self.tx_at]
        d_r = (
            xw @ digamma(r + xs)
            + self.total * (np.log(alpha) - digamma(r))
            - dot(wa, log_T)
            - dot(wd, log_tx)
        )
        d_alpha = self.total * r / alpha - dot(wa * (r + x), inv_T) - dot(wd * (r + x), inv_tx)
        d_a = xw @ (digamma(a + b) - digamma(a + b + xs)) + wd.sum() / a
        d_b = xw @ (digamma(a + b) + digamma(b + xs) - digamma(b) - digamma(a + b + xs)) - dot(
            wd, (1.0 / b_x_1)[self.x_at]
        )
        return float(value) / self.total, np.array([d_r, d_alpha, d_a, d_b]) / self.total


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> BgNbdFit:
    """Maximum-likelihood r, alpha, a, b. Rows may be unique (x, tx, T) with `weights` = customers per row.

    Raises ClvFitError (with the failed attempt's record) when the data cannot identify the model or the
    optimiser does not reach a finite stationary point."""
    x, tx, T = _as_arrays(frequency, recency, T)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    _check_inputs(x, tx, T, w)
    total = float(w.sum())
    if not np.any((x > 0) & (w > 0)):
        reason = (
            f"{MODEL}: no customer has a repeat purchase (all frequency 0), so the model is not identified"
        )
        raise ClvFitError(
            reason, FitRecord(MODEL, {}, float("nan"), int(total), len(x), False, 0, reason, 0.0)
        )
    start = (1.0, max(float(w @ T) / total, 1e-3), 1.0, 1.0)  # alpha starts at the mean age (time scale)
    record = fit_maximum_likelihood(
        MODEL,
        NAMES,
        _Likelihood(x, tx, T, w).mean_log_likelihood,
        start,
        n_customers=int(round(total)),
        n_rows=len(x),
        max_iterations=max_iterations,
    )
    return BgNbdFit.from_record(record)


def probability_alive(
    params: BgNbdParameters, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """P(alive | x, tx, T) (eq. 9, Fader-Hardie-Lee note "Computing P(alive) using the BG/NBD model").
    1 for x = 0: in the BG/NBD a customer can only drop out right after a repeat purchase."""
    x, tx, T = _as_arrays(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    log_odds_dead = (
        np.log(a)
        - np.log(np.where(repeat, b + x - 1, 1.0))
        + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    )
    return np.where(repeat, expit(-log_odds_dead), 1.0)


def conditional_expected_purchases(
    params: BgNbdParameters, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """E[Y(t) | x, tx, T]: expected purchases in (T, T + t] (eq. 10) = P(alive) * E[Y(t) | alive at T]."""
    x, tx, T = _as_arrays(frequency, recency, T)
    t = np.asarray(t, dtype=float)
    return probability_alive(params, x, tx, T) * expected_purchases_if_alive(params, t, x, T)


def expected_purchases(params: BgNbdParameters, t: ArrayLike) -> np.ndarray:
    """E[X(t)]: expected repeat purchases in (0, t] of a customer who just made a first purchase (eq. 7);
    eq. 10 with no history (x = tx = T = 0), since a new customer is alive."""
    t = np.asarray(t, dtype=float)
    zero = np.zeros_like(t)
    return expected_purchases_if_alive(params, t, zero, zero)


def expected_purchases_if_alive(
    params: BgNbdParameters, t: np.ndarray, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[Y(t) | x, T, alive at T], which does not depend on recency:
    (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)], z = t/(alpha+T+t).

    The Gauss function is evaluated after Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B)
    2F1(C-A, C-B; C; z), which turns the bracket into 1 - (1-z)^(a-1) 2F1(a-1, a+b-1-r; a+b+x-1; z):
    two fixed upper arguments and a lower one growing with x, so the series stays near 1 for heavy buyers
    where the direct form overflows (measured over 200k random extreme arguments: the direct form is not
    finite for 12% of them, this one for none with a+b+x-1 away from 0). 1 - (.) is taken as -expm1(log)
    so that small t keeps full relative precision; the Gauss value can be negative only when
    a + b + x - 1 < 0 (x = 0, a + b < 1), where the plain product is used."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t, x, T = np.broadcast_arrays(t, x, T)
    c = a + b + x - 1
    log_one_minus_z = np.log(alpha + T) - np.log(alpha + T + t)
    gauss = hyp2f1(a - 1, a + b - 1 - r, c, t / (alpha + T + t))
    with np.errstate(divide="ignore", invalid="ignore"):
        bracket = np.where(
            gauss > 0,
            -np.expm1((a - 1) * log_one_minus_z + np.log(gauss)),
            1 - np.exp((a - 1) * log_one_minus_z) * gauss,
        )
    expected = c / (a - 1) * bracket
    if not np.all(np.isfinite(expected)):
        row = int(np.argmin(np.isfinite(expected)))
        raise ClvFitError(
            f"{MODEL}: expected purchases not finite for t={t[row]}, x={x[row]}, T={T[row]} with r={r}, "
            f"alpha={alpha}, a={a}, b={b}"
        )
    return expected


def _as_arrays(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(v, dtype=float) for v in np.broadcast_arrays(frequency, recency, T))


def _check_inputs(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
    checks = {
        "frequency, recency, T and weights must be finite": np.isfinite(x)
        & np.isfinite(tx)
        & np.isfinite(T)
        & np.isfinite(w),
        "frequency must be >= 0": x >= 0,
        "recency must lie in [0, T]": (tx >= 0) & (tx <= T),
        "weights must be >= 0": w >= 0,
    }
    if w.shape != x.shape:
        raise ValueError(f"{MODEL}: weights have shape {w.shape}, rows have {x.shape}")
    for what, ok in checks.items():
        if not np.all(ok):
            row = int(np.argmin(ok))
            raise ValueError(
                f"{MODEL}: {what}; row {row} has frequency={x[row]}, recency={tx[row]}, T={T[row]}, "
                f"weight={w[row]}"
            )
