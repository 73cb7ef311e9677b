"""Maximum-likelihood fits: weighted = unweighted, true parameters recovered from simulated customers, and
fits that must not be used fail loudly."""

from __future__ import annotations

import numpy as np
import pytest

from orchestration.lib.clv.bgnbd import fit_bgnbd, log_likelihood
from orchestration.lib.clv.fit_record import ClvFitError
from orchestration.lib.clv.gamma_gamma import fit_gamma_gamma
from orchestration.lib.clv.gamma_gamma import log_likelihood as gg_log_likelihood
from orchestration.lib.clv.simulation import simulate

# simulate()'s defaults: customers drawn from the two models' stories with these parameters.
TRUE_BGNBD = {"r": 0.8, "alpha": 8.0, "a": 1.2, "b": 4.0}
TRUE_GG = {"p": 6.0, "q": 4.0, "v": 15.0}


def test_weighted_fit_on_unique_rows_equals_the_fit_on_every_customer():
    data = simulate(10_000, seed=11, whole_periods=True)
    rows, counts = np.unique(
        np.column_stack([data.frequency, data.recency, data.T]), axis=0, return_counts=True
    )
    assert len(rows) < 0.8 * len(
        data.frequency
    )  # whole weeks do compress (far more so with a million customers)
    per_customer = fit_bgnbd(data.frequency, data.recency, data.T)
    weighted = fit_bgnbd(rows[:, 0], rows[:, 1], rows[:, 2], weights=counts)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(weighted, name) == pytest.approx(getattr(per_customer, name), rel=1e-6), name
    assert weighted.log_likelihood == pytest.approx(per_customer.log_likelihood, rel=1e-9)
    # The optimiser's fast likelihood agrees with the plain per-customer eq. 6 (checked against integrals).
    plain = log_likelihood(per_customer, data.frequency, data.recency, data.T).sum()
    assert per_customer.log_likelihood == pytest.approx(plain, rel=1e-12)
    assert (weighted.n_customers, weighted.n_rows) == (10_000, len(rows))
    assert per_customer.n_rows == 10_000


def test_weighted_gamma_gamma_equals_repeating_the_rows():
    data = simulate(3000, seed=5)
    repeat = data.frequency > 0
    x, m = data.frequency[repeat], data.monetary_value[repeat]
    counts = np.arange(len(x)) % 3 + 1
    weighted = fit_gamma_gamma(x, m, weights=counts)
    repeated = fit_gamma_gamma(np.repeat(x, counts), np.repeat(m, counts))
    for name in ("p", "q", "v"):
        assert getattr(weighted, name) == pytest.approx(getattr(repeated, name), rel=1e-6), name
    assert weighted.log_likelihood == pytest.approx(repeated.log_likelihood, rel=1e-9)
    plain = gg_log_likelihood(repeated, np.repeat(x, counts), np.repeat(m, counts)).sum()
    assert repeated.log_likelihood == pytest.approx(plain, rel=1e-12)


def test_true_parameters_are_recovered_from_simulated_customers():
    """50k customers, fixed seed. Tolerance 15% relative: at this size the standard errors from the observed
    information are (measured over seeds 0-2) about 0.9% for r, 1.2% alpha, 2.6% a, 3.4% b, 2.8% p, 1.1% q
    and 3.7% v, so 15% is about 4 standard errors for the weakest parameters (a, b, v) - a real bias or
    a wrong likelihood fails it, sampling noise does not."""
    data = simulate(50_000, seed=2026, **TRUE_BGNBD, **TRUE_GG)
    bg = fit_bgnbd(data.frequency, data.recency, data.T)
    repeat = data.frequency > 0
    gg = fit_gamma_gamma(data.frequency[repeat], data.monetary_value[repeat])
    assert bg.converged and gg.converged
    for name, truth in TRUE_BGNBD.items():
        assert getattr(bg, name) == pytest.approx(truth, rel=0.15), name
    for name, truth in TRUE_GG.items():
        assert getattr(gg, name) == pytest.approx(truth, rel=0.15), name
    assert np.isfinite(bg.log_likelihood) and bg.seconds > 0 and bg.iterations > 0


def test_everyone_without_a_repeat_purchase_is_a_clear_error():
    with pytest.raises(ClvFitError, match="no customer has a repeat purchase") as raised:
        fit_bgnbd(np.zeros(50), np.zeros(50), np.arange(1, 51))
    assert raised.value.record is not None and raised.value.record.converged is False


def test_an_iteration_cap_that_stops_the_optimiser_is_a_clear_error():
    data = simulate(2000, seed=3)
    with pytest.raises(ClvFitError, match=r"did not converge: .* \(cap 1 per method\)") as raised:
        fit_bgnbd(data.frequency, data.recency, data.T, max_iterations=1)
    record = raised.value.record
    assert (
        record.model == "bgnbd"
        and not record.converged
        and set(record.parameters) == {"r", "alpha", "a", "b"}
    )
    repeat = data.frequency > 0
    with pytest.raises(ClvFitError, match="did not converge"):
        fit_gamma_gamma(data.frequency[repeat], data.monetary_value[repeat], max_iterations=1)


def test_data_without_a_finite_maximum_is_a_clear_error():
    # Every repeat customer spends the same per order: the spread between customers is zero, so the
    # likelihood grows without bound as q and v go to infinity together.
    with pytest.raises(ClvFitError, match="nothing to fit"):
        fit_gamma_gamma(np.array([1.0, 2.0, 3.0]), np.array([10.0, 10.0, 10.0]))
    # Order values vary less between customers than Gamma(p x) noise allows: q runs off.
    x = np.full(400, 5.0)
    m = np.random.default_rng(0).normal(50.0, 0.01, 400)
    with pytest.raises(ClvFitError, match="ran to the edge|did not converge"):
        fit_gamma_gamma(x, m)


def test_bad_rows_are_named():
    with pytest.raises(ValueError, match=r"recency must lie in \[0, T\]; row 1 has"):
        fit_bgnbd([1, 2], [3, 9], [5, 8])
    with pytest.raises(ValueError, match="row 0 has frequency=0.0"):
        fit_gamma_gamma([0, 2], [10.0, 12.0])
