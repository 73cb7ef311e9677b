"""BG/NBD purchases with Gamma-Gamma order values, and the post-purchase problems that feed back on dropout.

Simulated purchase by purchase for all customers at once: round k holds the k-th purchase of every
customer still alive and inside the window, so the loop runs (max purchases) times over shrinking
arrays, never once per order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.lib.raw_schema import CHANNELS
from seeds.config import CHANNEL_PARAMS, GeneratorConfig
from seeds.population import Population

FIRST_PURCHASE_AT_SIGNUP = 0.6  # share of buyers who buy the moment they are acquired
FIRST_PURCHASE_DELAY_DAYS = 10.0  # mean delay (exponential) of the others
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_SHARES = np.array([0.20, 0.50, 0.22, 0.08])
FIRST_RESPONSE_MEDIAN_H = np.array([12.0, 6.0, 2.0, 1.0])  # by priority, lognormal sigma 1.0
RESOLUTION_MEDIAN_H = np.array([32.0, 20.0, 12.0, 6.0])  # by priority, lognormal sigma 1.1


@dataclass
class Purchases:
    """Completed purchases (BG/NBD transactions), sorted by customer then time."""

    who: np.ndarray  # customer index
    at_d: np.ndarray  # days since start
    number: np.ndarray  # 0 = first purchase
    value_usd: np.ndarray  # order value net of discount, USD (Gamma-Gamma)


@dataclass
class Problems:
    """Post-purchase problems (each becomes a ticket linked to the order)."""

    purchase: np.ndarray  # index into Purchases
    priority: np.ndarray
    first_response_h: np.ndarray
    resolution_h: np.ndarray  # inf: never solved
    bad: np.ndarray  # solved slower than Experience.slow_hours, or never


@dataclass
class CustomerOutcome:
    """Per customer: what actually happened in the window (the truth file)."""

    first_d: np.ndarray  # nan: no purchase in the window
    last_d: np.ndarray
    n_purchases: np.ndarray
    alive: np.ndarray  # still alive at the end of the window (False for non-buyers)
    dropout_d: np.ndarray  # time of the purchase after which the customer left; nan if alive
    problems: np.ndarray
    bad_problems: np.ndarray


def draw_problem(rng: np.random.Generator, n: int, never_solved: float):
    priority = rng.choice(len(PRIORITIES), size=n, p=PRIORITY_SHARES).astype(np.int8)
    first_response = FIRST_RESPONSE_MEDIAN_H[priority] * np.exp(rng.normal(0.0, 1.0, n))
    resolution = first_response + RESOLUTION_MEDIAN_H[priority] * np.exp(rng.normal(0.0, 1.1, n))
    resolution = np.where(rng.random(n) < never_solved, np.inf, resolution)
    return priority, first_response, resolution


def cat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def simulate(config: GeneratorConfig, pop: Population) -> tuple[Purchases, Problems, CustomerOutcome]:
    rng = config.rng("purchases")
    exp = config.experience
    gg_p = np.array([CHANNEL_PARAMS[c].gg_p for c in CHANNELS])[pop.channel]
    n = pop.n
    delay = np.where(
        rng.random(n) < FIRST_PURCHASE_AT_SIGNUP, 0.0, rng.exponential(FIRST_PURCHASE_DELAY_DAYS, n)
    )
    t = pop.created_d + delay
    active = np.flatnonzero(~pop.prospect & (t < config.days))
    t = t[active]
    bad = np.zeros(n, dtype=np.int32)
    problems_count = np.zeros(n, dtype=np.int32)
    alive = np.zeros(n, dtype=bool)
    dropout_d = np.full(n, np.nan)
    rounds_who, rounds_t, rounds_k, rounds_v = [], [], [], []
    pr_flat, pr_priority, pr_frh, pr_rh, pr_bad = [], [], [], [], []
    k = 0
    done = 0  # purchases recorded in earlier rounds
    while active.size:
        rounds_who.append(active)
        rounds_t.append(t)
        rounds_k.append(np.full(active.size, k, dtype=np.int32))
        rounds_v.append(rng.gamma(gg_p[active], 1.0 / pop.nu[active]))

        has_problem = rng.random(active.size) < exp.problem_rate
        pos = np.flatnonzero(has_problem)
        priority, frh, rh = draw_problem(rng, pos.size, exp.never_solved)
        bad_now = rh > exp.slow_hours
        problems_count[active[pos]] += 1
        bad[active[pos]] += bad_now
        pr_flat.append(done + pos)
        done += active.size
        pr_priority.append(priority)
        pr_frh.append(frh)
        pr_rh.append(rh)
        pr_bad.append(bad_now)

        # BG/NBD: after each repeat purchase the customer leaves with probability p; a badly handled
        # problem raises that probability for this and every later purchase.
        p_base = pop.p[active] * (k >= 1)
        p_eff = 1.0 - (1.0 - p_base) * (1.0 - exp.dropout_increase) ** bad[active]
        leaves = rng.random(active.size) < p_eff
        dropout_d[active[leaves]] = t[leaves]
        t_next = t + rng.exponential(7.0 / pop.lam[active])
        censored = ~leaves & (t_next >= config.days)
        alive[active[censored]] = True
        keep = ~leaves & ~censored
        active, t = active[keep], t_next[keep]
        k += 1

    who, at_d, number, value = (
        cat(x, d)
        for x, d in ((rounds_who, np.int64), (rounds_t, float), (rounds_k, np.int32), (rounds_v, float))
    )
    flat_problem = cat(pr_flat, np.int64)
    order = np.lexsort((at_d, who))
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    purchases = Purchases(who[order], at_d[order], number[order], value[order])
    problems = Problems(
        purchase=position[flat_problem],
        priority=cat(pr_priority, np.int8),
        first_response_h=cat(pr_frh, float),
        resolution_h=cat(pr_rh, float),
        bad=cat(pr_bad, bool),
    )
    counts = np.bincount(purchases.who, minlength=n)
    first_d = np.full(n, np.nan)
    last_d = np.full(n, np.nan)
    first_d[purchases.who[purchases.number == 0]] = purchases.at_d[purchases.number == 0]
    last_idx = np.cumsum(counts) - 1
    buyers = counts > 0
    last_d[buyers] = purchases.at_d[last_idx[buyers]]
    outcome = CustomerOutcome(first_d, last_d, counts, alive, dropout_d, problems_count, bad)
    return purchases, problems, outcome
