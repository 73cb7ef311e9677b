"""Customers drawn from the BG/NBD and Gamma-Gamma stories (not from their likelihoods): the ground truth
for parameter-recovery tests and the population behind the fit benchmark."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SimulatedCustomers:
    frequency: np.ndarray  # repeat purchases x
    recency: np.ndarray  # time of the last repeat purchase tx (0 when x = 0)
    T: np.ndarray  # time since the first purchase
    monetary_value: np.ndarray  # mean repeat order value (nan when x = 0)


def simulate(
    n: int,
    seed: int,
    r: float = 0.8,
    alpha: float = 8.0,
    a: float = 1.2,
    b: float = 4.0,
    p: float = 6.0,
    q: float = 4.0,
    v: float = 15.0,
    max_age: float = 156.0,
    whole_periods: bool = False,
    resolution: float | None = None,
) -> SimulatedCustomers:
    """n customers first seen uniformly over the last `max_age` periods (weeks by default).

    BG/NBD: lambda ~ Gamma(r, rate alpha), dropout p ~ Beta(a, b). While alive, purchases are a Poisson
    (lambda) process; after each repeat purchase the customer drops out with probability p, so the repeat
    purchases made before dropping out are J ~ Geometric(p) on 1, 2, ... With N ~ Poisson(lambda T)
    arrivals in (0, T], x = min(J, N), and the x-th of N uniform arrival times is T * Beta(x, N - x + 1).
    Gamma-Gamma: nu ~ Gamma(q, rate v); the mean of x Gamma(p, rate nu) order values is Gamma(p x, rate x nu).
    `whole_periods` floors recency and T to whole periods; `resolution` to whole multiples of it (1 / 7:
    whole days in weeks, as the warehouse's summaries measure them).
    """
    rng = np.random.default_rng(seed)
    T = rng.uniform(1, max_age, n)
    lam = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    arrivals = rng.poisson(lam * T)
    x = np.minimum(rng.geometric(dropout), arrivals)
    repeat = x > 0
    tx = np.zeros(n)
    tx[repeat] = T[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
    nu = rng.gamma(q, 1 / v, n)
    m = np.full(n, np.nan)
    m[repeat] = rng.gamma(p * x[repeat], 1 / (x[repeat] * nu[repeat]))
    if whole_periods:
        T, tx = np.floor(T), np.floor(tx)
    if resolution:
        T, tx = np.floor(T / resolution) * resolution, np.floor(tx / resolution) * resolution
    return SimulatedCustomers(x.astype(float), tx, T, m)
