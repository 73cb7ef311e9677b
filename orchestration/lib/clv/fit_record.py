"""What one maximum-likelihood fit did, kept whether it worked or not (it becomes a clv.fit_history row)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FitRecord:
    model: str  # "bgnbd" or "gamma_gamma"
    parameters: dict[str, float]  # last parameter values the optimiser reached (final ones when converged)
    log_likelihood: float
    n_customers: int  # customers the likelihood covers (sum of the row weights)
    n_rows: int  # rows the likelihood was evaluated on (unique rows for BG/NBD)
    converged: bool
    iterations: int
    message: str
    seconds: float


class ClvFitError(RuntimeError):
    """A fit that must not be used: no convergence, a non-finite likelihood or parameter, or data that
    do not identify the model. `record` describes the failed attempt so it can still be logged."""

    def __init__(self, reason: str, record: FitRecord | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.record = record
