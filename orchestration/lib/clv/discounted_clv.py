"""Discounted expected purchases over a horizon, the purchase count CLV is built on (DECISIONS.md, CLV).

    DEP = sum_{m=1..H} (E[Y(t_m)] - E[Y(t_{m-1})]) / (1 + monthly_rate)^m,
    t_m = m * 30.4375 / time_unit_days   (month m in model time units; 30.4375 = 365.25 / 12 days),
    monthly_rate = (1 + annual_discount_rate)^(1/12) - 1.

Purchases expected in month m are discounted to the analysis date as if paid at the month's end.
CLV = margin * E[order value] * DEP (the value marts do that product in SQL from clv.parameters).

E[Y(t) | x, tx, T] = P(alive | x, tx, T) * E[Y(t) | x, T, alive], and only the second factor needs the
Gauss function, twelve times: it is evaluated once per distinct (x, T), far fewer than the (x, tx, T) rows
when times are measured in days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from orchestration.lib.clv.bgnbd import BgNbdParameters, expected_purchases_if_alive, probability_alive

DAYS_PER_MONTH = 365.25 / 12


def month_ends_in_time_units(horizon_months: int, time_unit_days: float) -> np.ndarray:
    """t_0 = 0, t_1, ..., t_H: the horizon's month ends measured in model time units."""
    return np.arange(horizon_months + 1) * DAYS_PER_MONTH / time_unit_days


def monthly_discount_rate(annual_discount_rate: float) -> float:
    return (1.0 + annual_discount_rate) ** (1.0 / 12.0) - 1.0


def discounted_expected_purchases(
    params: BgNbdParameters,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    horizon_months: int,
    annual_discount_rate: float,
    time_unit_days: float,
) -> np.ndarray:
    """Discounted expected purchases of each (x, tx, T) row over the next `horizon_months` months."""
    return horizon_purchases(
        params, frequency, recency, T, horizon_months, annual_discount_rate, time_unit_days
    )[1]


def horizon_purchases(
    params: BgNbdParameters,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    horizon_months: int,
    annual_discount_rate: float,
    time_unit_days: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(E[Y(horizon)], discounted expected purchases) of each (x, tx, T) row over `horizon_months` months."""
    if horizon_months < 0 or time_unit_days <= 0 or annual_discount_rate <= -1:
        raise ValueError(
            f"horizon_months={horizon_months} must be >= 0, time_unit_days={time_unit_days} > 0, "
            f"annual_discount_rate={annual_discount_rate} > -1"
        )
    x, tx, age = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(frequency, recency, T))
    # Distinct (x, T) pairs by hashing, three factorize passes: a sort of millions of rows costs more than the
    # Gauss function. On the 4.1M keys at 1M customers: 0.15 s, against 1.2 s for a group-by and np.unique.
    # A NaN stays a value of its own, so it reaches the caller's finiteness check.
    x_codes, x_values = pd.factorize(x.ravel(), use_na_sentinel=False)
    t_codes, t_values = pd.factorize(age.ravel(), use_na_sentinel=False)
    pair, pairs = pd.factorize(x_codes.astype(np.int64) * len(t_values) + t_codes)
    xs, ages = x_values[pairs // len(t_values)], t_values[pairs % len(t_values)]
    discount = (1.0 + monthly_discount_rate(annual_discount_rate)) ** -np.arange(1, horizon_months + 1)
    discounted = np.zeros_like(xs)
    previous = np.zeros_like(xs)  # E[Y(t_0 = 0)] = 0
    for m, t_m in enumerate(month_ends_in_time_units(horizon_months, time_unit_days)[1:]):
        cumulative = expected_purchases_if_alive(params, t_m, xs, ages)
        discounted += (cumulative - previous) * discount[m]
        previous = cumulative
    alive = probability_alive(params, x, tx, age)
    return (
        alive * previous[pair].reshape(x.shape),
        alive * discounted[pair].reshape(x.shape),
    )
