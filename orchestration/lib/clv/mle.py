"""Maximum likelihood over positive parameters: optimise their logarithms, then check the optimum is real.

Both models (BG/NBD, Gamma-Gamma) hand in their mean log-likelihood per customer and its gradient. A
fit is accepted only when the gradient at the end is ~0 (a stationary point, whatever the optimiser's
own status says: L-BFGS-B often stops on "abnormal termination in line search" at an optimum already
found to machine precision), every number is finite and no parameter ran to the edge of its range
(which is how a likelihood without a finite maximum, i.e. data that do not identify the model, shows).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
from scipy.optimize import minimize

from orchestration.lib.clv.fit_record import ClvFitError, FitRecord

MeanLogLikelihood = Callable[[np.ndarray], tuple[float, np.ndarray]]

# Parameters are kept within [1e-8, 1e8]; one that reaches the edge has no finite MLE.
LOG_BOUND = float(np.log(1e8))
# Largest |d mean-log-likelihood / d log(parameter)| accepted as a stationary point.
GRADIENT_TOLERANCE = 1e-6
DEFAULT_MAX_ITERATIONS = 1000


def fit_maximum_likelihood(
    model: str,
    names: Sequence[str],
    mean_log_likelihood: MeanLogLikelihood,
    start: Sequence[float],
    n_customers: int,
    n_rows: int,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> FitRecord:
    """Maximise `mean_log_likelihood` (value and gradient in the natural parameters) from `start`.

    Returns the record of a converged fit (log_likelihood summed over customers); raises ClvFitError,
    carrying the record of the failed attempt, otherwise."""
    started = time.perf_counter()

    def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        value, gradient = mean_log_likelihood(params)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return np.inf, np.zeros_like(theta)
        return -value, -gradient * params  # chain rule: d/d log(x) = x d/dx

    theta0 = np.log(np.asarray(start, dtype=float))
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(theta0)
    result = minimize(
        negative,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iterations, "ftol": 1e-15, "gtol": GRADIENT_TOLERANCE / 100},
    )
    theta, iterations, message = result.x, int(result.nit), f"L-BFGS-B: {result.message}"
    if not _is_stationary(negative, theta):
        # Derivative-free fallback from wherever L-BFGS-B got to (or the start if it got nowhere finite).
        begin = theta if np.isfinite(negative(theta)[0]) else theta0
        simplex = minimize(
            lambda th: negative(th)[0],
            begin,
            method="Nelder-Mead",
            bounds=bounds,
            options={"maxiter": max_iterations, "xatol": 1e-10, "fatol": 1e-14},
        )
        theta, iterations = simplex.x, iterations + int(simplex.nit)
        message += f"; Nelder-Mead: {simplex.message}"

    value, gradient = negative(theta)
    params = np.exp(theta)
    record = FitRecord(
        model=model,
        parameters={name: float(p) for name, p in zip(names, params, strict=True)},
        log_likelihood=float(-value * n_customers),
        n_customers=int(n_customers),
        n_rows=int(n_rows),
        converged=False,
        iterations=iterations,
        message=message,
        seconds=time.perf_counter() - started,
    )
    reason = _failure_reason(model, names, theta, value, gradient, iterations, max_iterations)
    if reason:
        failed = replace(record, message=f"{reason} ({message})")
        raise ClvFitError(failed.message, failed)
    return replace(record, converged=True)


def dot(u: np.ndarray, v: np.ndarray) -> float:
    """Sum of u * v. einsum, not BLAS: a threaded ddot on a shared 2-core machine spins more than it works."""
    return float(np.einsum("i,i->", u, v))


def _is_stationary(negative: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray) -> bool:
    value, gradient = negative(theta)
    return bool(np.isfinite(value) and np.max(np.abs(gradient)) < GRADIENT_TOLERANCE)


def _failure_reason(
    model: str,
    names: Sequence[str],
    theta: np.ndarray,
    value: float,
    gradient: np.ndarray,
    iterations: int,
    max_iterations: int,
) -> str | None:
    if not np.isfinite(value) or not np.all(np.isfinite(theta)):
        return f"{model}: log-likelihood or parameters are not finite"
    at_edge = [n for n, th in zip(names, theta, strict=True) if abs(th) >= LOG_BOUND - 1e-6]
    if at_edge:
        return (
            f"{model}: parameter(s) {', '.join(at_edge)} ran to the edge of [1e-8, 1e8]; the likelihood has"
            " no finite maximum, so the data do not identify the model"
        )
    worst = float(np.max(np.abs(gradient)))
    if worst >= GRADIENT_TOLERANCE:
        return (
            f"{model}: optimiser did not converge: largest gradient {worst:.3g} >= {GRADIENT_TOLERANCE:g}"
            f" after {iterations} iterations (cap {max_iterations} per method)"
        )
    return None
