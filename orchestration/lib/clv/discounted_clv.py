"""Discounted expected purchases over a horizon, the purchase count CLV is built on (DECISIONS.md, CLV).

    DEP = sum_{m=1..H} (E[Y(t_m)] - E[Y(t_{m-1})]) / (1 + monthly_rate)^m,
    t_m = m * 30.4375 / time_unit_days   (month m in model time units; 30.4375 = 365.25 / 12 days),
    monthly_rate = (1 + annual_discount_rate)^(1/12) - 1.

Purchases expected in month m are discounted to the analysis date as if paid at the month's end.
CLV = margin * E[order value] * DEP (the value marts do that product in SQL from clv.parameters).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from orchestration.lib.clv.bgnbd import BgNbdParameters, conditional_expected_purchases

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
    if horizon_months < 0 or time_unit_days <= 0 or annual_discount_rate <= -1:
        raise ValueError(
            f"horizon_months={horizon_months} must be >= 0, time_unit_days={time_unit_days} > 0, "
            f"annual_discount_rate={annual_discount_rate} > -1"
        )
    x, tx, age = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(frequency, recency, T))
    discount = (1.0 + monthly_discount_rate(annual_discount_rate)) ** -np.arange(1, horizon_months + 1)
    total = np.zeros_like(x)
    previous = np.zeros_like(x)  # E[Y(t_0 = 0)] = 0
    for m, t_m in enumerate(month_ends_in_time_units(horizon_months, time_unit_days)[1:]):
        cumulative = conditional_expected_purchases(params, t_m, x, tx, age)
        total += (cumulative - previous) * discount[m]
        previous = cumulative
    return total
