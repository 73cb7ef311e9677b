"""CLV time is measured to the day (issue 13, point 3): recency and T = days / 7, and the warehouse fit is
the maximum-likelihood fit of those exact values.

Independent of orchestration/clv: the purchase days come from the plain-pandas model of the raw layer
(tests/independent_model.py); the BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6) and the
Gamma-Gamma one (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 3 in the mean spend) are written out below from
the papers and maximised with scipy over every customer, one row each, no compression.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from independent_model import build, read_raw
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

from orchestration.settings import Settings

WEEK = 7.0


@pytest.fixture(scope="module")
def expected(built_warehouse: Settings) -> pd.DataFrame:
    """Per customer with a completed order: frequency, recency and T in days and in weeks, monetary value."""
    model = build(read_raw(built_warehouse.duckdb_path))
    completed = model.orders[model.orders["completed"]]
    days = completed.groupby(["customer", "day"], as_index=False)["net_revenue"].sum()
    days = days.sort_values(["customer", "day"])
    per = days.groupby("customer").agg(
        first=("day", "min"), last=("day", "max"), n=("day", "size"), total=("net_revenue", "sum")
    )
    first_value = days.groupby("customer")["net_revenue"].first()
    out = pd.DataFrame(index=per.index)
    out["frequency"] = per["n"] - 1
    out["recency_days"] = (per["last"] - per["first"]).dt.days
    out["t_days"] = (model.as_of_date - per["first"]).dt.days
    out["recency"] = out["recency_days"] / WEEK
    out["t"] = out["t_days"] / WEEK
    out["monetary_value"] = ((per["total"] - first_value) / out["frequency"]).where(out["frequency"] > 0)
    return out.rename_axis("customer_id").reset_index()


@pytest.fixture(scope="module")
def warehouse(built_warehouse: Settings) -> dict:
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        return {
            "summary": con.sql("select * from intermediate.int_clv__customer_summary").df(),
            "parameters": con.sql("select * from clv.parameters").df().iloc[0],
            "value": con.sql("select * from marts.mart_customer_value").df(),
        }


def bgnbd_log_likelihood(log_params: np.ndarray, x, tx, T) -> float:
    """Sum over customers of eq. 6: B(a, b+x)/B(a, b) G(r+x) a^r / (G(r) (a+T)^(r+x)) + [x > 0]
    B(a+1, b+x-1)/B(a, b) G(r+x) a^r / (G(r) (a+tx)^(r+x))."""
    r, alpha, a, b = np.exp(log_params)
    gamma_part = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    repeat = x > 0
    dropped = np.full_like(x, -np.inf)
    dropped[repeat] = (
        betaln(a + 1, b + x[repeat] - 1) - betaln(a, b) - (r + x[repeat]) * np.log(alpha + tx[repeat])
    )
    return float(np.sum(gamma_part + np.logaddexp(alive, dropped)))


def gamma_gamma_log_likelihood(log_params: np.ndarray, x, m) -> float:
    """Sum of ln f(m | p, q, v, x) for the mean m of x order values, each Gamma(p, nu), nu ~ Gamma(q, v)."""
    p, q, v = np.exp(log_params)
    px = p * x
    return float(
        np.sum(
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(v + x * m)
        )
    )


def maximise(log_likelihood, start: np.ndarray, *data) -> tuple[np.ndarray, float]:
    found = minimize(
        lambda th: -log_likelihood(th, *data),
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 40_000, "maxfev": 40_000},
    )
    return np.exp(found.x), -found.fun


def test_summary_is_measured_in_days_and_fractional_weeks(expected, warehouse):
    actual = warehouse["summary"].set_index("customer_id").sort_index()
    want = expected.set_index("customer_id").sort_index()
    assert list(actual.index) == list(want.index)
    for column in ("frequency", "recency_days", "t_days"):
        assert (actual[column].to_numpy() == want[column].to_numpy()).all(), column
    for column in ("recency", "t"):
        np.testing.assert_allclose(actual[column], want[column], rtol=1e-12, err_msg=column)
    # The model takes the revenue sums in whole millionths (the same fit whatever order an engine adds in).
    np.testing.assert_allclose(actual["monetary_value"], want["monetary_value"], rtol=0, atol=1.01e-6)
    assert (want["t"] % 1 != 0).mean() > 0.5  # most ages are not whole weeks: nothing was floored


def test_bgnbd_is_the_maximum_likelihood_fit_of_the_exact_times(expected, warehouse):
    x, tx, T = (expected[c].to_numpy(dtype=float) for c in ("frequency", "recency", "t"))
    fitted = warehouse["parameters"]
    ours = np.array([fitted["r"], fitted["alpha"], fitted["a"], fitted["b"]])
    theirs, best = maximise(bgnbd_log_likelihood, np.log(ours * 1.3), x, tx, T)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    assert bgnbd_log_likelihood(np.log(ours), x, tx, T) >= best - 1e-6


def test_whole_weeks_would_give_another_fit(expected, warehouse):
    """The flooring the default no longer does moves the estimate, so the check above has teeth."""
    x = expected["frequency"].to_numpy(dtype=float)
    tx, T = np.floor(expected["recency"].to_numpy()), np.floor(expected["t"].to_numpy())
    fitted = warehouse["parameters"]
    ours = np.array([fitted["r"], fitted["alpha"], fitted["a"], fitted["b"]])
    floored, _ = maximise(bgnbd_log_likelihood, np.log(ours), x, tx, T)
    assert np.max(np.abs(floored / ours - 1)) > 1e-3


def test_gamma_gamma_is_the_maximum_likelihood_fit(expected, warehouse):
    repeat = expected[(expected["frequency"] > 0) & (expected["monetary_value"] > 0)]
    x, m = repeat["frequency"].to_numpy(dtype=float), repeat["monetary_value"].to_numpy()
    fitted = warehouse["parameters"]
    ours = np.array([fitted["p"], fitted["q"], fitted["v"]])
    theirs, best = maximise(gamma_gamma_log_likelihood, np.log(ours * 1.3), x, m)
    assert gamma_gamma_log_likelihood(np.log(ours), x, m) >= best - 1e-6
    np.testing.assert_allclose(ours, theirs, rtol=1e-3)


def test_value_mart_shows_fractional_weeks_and_days_since_last_purchase(expected, warehouse, built_warehouse):
    value = warehouse["value"].set_index("customer_id").sort_index()
    want = expected.set_index("customer_id").sort_index()
    np.testing.assert_allclose(value["recency"], want["recency"], rtol=1e-12)
    np.testing.assert_allclose(value["t"], want["t"], rtol=1e-12)
    # days since the last purchase day = T - recency in days
    assert (value["days_since_last_purchase"] == want["t_days"] - want["recency_days"]).all()
    # p_alive is 1 for every one-time buyer, by the BG/NBD's construction (documented in the mart)
    one_time = value["frequency"] == 0
    assert one_time.any() and (value.loc[one_time, "p_alive"] == 1.0).all()
    assert (value.loc[~one_time, "p_alive"] < 1.0).any()
