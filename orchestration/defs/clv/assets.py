"""The CLV fit as one Dagster step between the CLV summaries (dbt) and the value/equity marts (dbt).

Reads intermediate.int_clv__settings, int_clv__customer_summary and int_clv__month_end_summary; fits
BG/NBD by maximum likelihood on the unique (frequency, recency_days, t_days) rows (counts as weights; recency
and t in time units = days / clv_time_unit_days, measured to the day) and
Gamma-Gamma on the repeat customers' (frequency, monetary_value); writes, in one transaction,

- clv.rfm_scores(frequency, recency_days, t_days, recency, t, p_alive, expected_purchases,
  discounted_expected_purchases): one row per distinct (frequency, recency_days, t_days) in either
  summary; expected_purchases = E[Y(horizon)], discounted_expected_purchases = sum over the horizon's
  months m of (E[Y(t_m)] - E[Y(t_(m-1))]) / (1 + monthly_rate)^m (DECISIONS.md);
- clv.parameters: one row, as_of_date, r, alpha, a, b, p, q, v and the settings used;

and appends one row per model to clv.fit_history (a log of fits: re-running adds a fit, on purpose).

The dbt marts join rfm_scores on (frequency, recency_days, t_days) and compute, from clv.parameters,
    expected_order_value = p * (v + x * m) / (p * x + q - 1)   (x = frequency, m = monetary_value,
                           x * m taken as 0 when x = 0, giving the population mean p v / (q - 1))
    clv = margin * expected_order_value * discounted_expected_purchases.

A fit that does not converge fails the step (dagster Failure with the reason): rfm_scores and parameters
keep their previous contents, the failed attempt is in fit_history. A warehouse where nobody has
purchased yet (e.g. CRM data only) gets empty rfm_scores and parameters, so the value marts are empty
rather than the build failing.
"""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from orchestration.lib.clv.fit_in_warehouse import ClvRun, fit_and_score
from orchestration.lib.clv.fit_record import ClvFitError
from orchestration.lib.spark.engine import SparkEngine
from orchestration.lib.spark.steps import clv_to_spark
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import Settings

INPUTS = [
    AssetKey(["int_clv__customer_summary"]),
    AssetKey(["int_clv__month_end_summary"]),
    AssetKey(["int_clv__settings"]),
]
PARAMETERS = AssetKey(["clv", "parameters"])
RFM_SCORES = AssetKey(["clv", "rfm_scores"])
FIT_HISTORY = AssetKey(["clv", "fit_history"])
_COMMON = {
    "deps": INPUTS,
    "group_name": "marts",
    "owners": ["team:analytics-engineering"],
    "kinds": {"python"},
}


@multi_asset(
    name="clv_fit",
    specs=[
        AssetSpec(
            PARAMETERS,
            description="BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, v) maximum-likelihood parameters "
            "as of as_of_date, with the CLV settings used (one row).",
            **_COMMON,
        ),
        AssetSpec(
            RFM_SCORES,
            description="P(alive), expected purchases over the horizon and discounted expected purchases "
            "per distinct (frequency, recency_days, t_days) of the CLV summaries; the value marts join on "
            "those keys.",
            **_COMMON,
        ),
        AssetSpec(
            FIT_HISTORY,
            description="Every CLV fit attempt, one row per model: parameters, log-likelihood, customers, "
            "unique rows, converged, seconds. Failed fits are recorded too.",
            **_COMMON,
        ),
    ],
)
def clv_fit(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, settings: Settings, spark: SparkEngine
) -> Iterator[MaterializeResult]:
    """Fit BG/NBD + Gamma-Gamma and score the CLV summaries (see the module docstring for the formulas).

    On Spark (RW_ENGINE=spark) the summaries are the Spark-built ones the dbt step copied to the build
    DuckDB; the fit and its transaction stay here, then clv.* is written to Spark for the scored marts."""
    with warehouse.connect() as con:
        try:
            run = fit_and_score(con)
        except ClvFitError as err:
            if settings.engine == "spark":  # the failed attempt joins fit_history; scores stay as they were
                clv_to_spark(spark.session(), con)
            raise Failure(description=f"CLV fit failed: {err.reason}") from err
        if settings.engine == "spark":
            context.log.info(f"CLV tables written to Spark: {clv_to_spark(spark.session(), con)}")
    if run.bgnbd is None:
        context.log.warning("No customer with a purchase: clv.rfm_scores and clv.parameters are empty.")
    yield from _results(run)


def _results(run: ClvRun) -> Iterator[MaterializeResult]:
    s = run.settings
    common = {"as_of_date": str(s.as_of_date), "fit_id": run.fit_id}
    if run.bgnbd is None or run.gamma_gamma is None:
        empty = {**common, "customers": 0, "note": "no customer with a purchase; empty tables"}
        for key in (PARAMETERS, RFM_SCORES, FIT_HISTORY):
            yield MaterializeResult(asset_key=key, metadata=empty)
        return
    bg, gg = run.bgnbd, run.gamma_gamma
    fit = {
        **common,
        **{n: MetadataValue.float(getattr(bg, n)) for n in ("r", "alpha", "a", "b")},
        **{n: MetadataValue.float(getattr(gg, n)) for n in ("p", "q", "v")},
        "bgnbd_log_likelihood": MetadataValue.float(bg.log_likelihood),
        "gamma_gamma_log_likelihood": MetadataValue.float(gg.log_likelihood),
        "customers": bg.n_customers,
        "unique_rows": bg.n_rows,
        "repeat_customers": gg.n_customers,
        "bgnbd_seconds": MetadataValue.float(round(bg.seconds, 3)),
        "gamma_gamma_seconds": MetadataValue.float(round(gg.seconds, 3)),
    }
    yield MaterializeResult(asset_key=PARAMETERS, metadata=fit)
    yield MaterializeResult(
        asset_key=RFM_SCORES,
        metadata={
            **common,
            "dagster/row_count": run.scored_rows,
            "scoring_seconds": MetadataValue.float(round(run.scoring_seconds, 3)),
            "horizon_months": s.horizon_months,
            "annual_discount_rate": MetadataValue.float(s.annual_discount_rate),
            "time_unit_days": MetadataValue.float(s.time_unit_days),
        },
    )
    yield MaterializeResult(asset_key=FIT_HISTORY, metadata={**common, "rows_appended": 2})


clv_assets = [clv_fit]
