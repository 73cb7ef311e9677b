"""The CLV backtest as its own Python step beside the CLV fit: reads
intermediate.int_clv__backtest_summary (dbt), fits BG/NBD at each cutoff and writes clv.backtest_predictions
and clv.backtest_fits, which the dbt mart mart_clv_backtest joins (orchestration/lib/clv/backtest.py says
what is written). A step of its own, so the fit that scores the value marts keeps its time budget; a cutoff
that cannot be fitted is reported, not fatal.
"""

from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from orchestration.lib.clv.backtest import fit_backtest
from orchestration.lib.spark.engine import SparkEngine
from orchestration.lib.spark.transfer import duckdb_to_spark
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import Settings

BACKTEST_PREDICTIONS = AssetKey(["clv", "backtest_predictions"])
BACKTEST_FITS = AssetKey(["clv", "backtest_fits"])
_COMMON = {
    "deps": [AssetKey(["int_clv__backtest_summary"]), AssetKey(["int_clv__settings"])],
    "group_name": "marts",
    "owners": ["team:analytics-engineering"],
    "kinds": {"python"},
}


@multi_asset(
    name="clv_backtest",
    specs=[
        AssetSpec(
            BACKTEST_PREDICTIONS,
            description="Backtest: expected purchase days in the holdout per cutoff and distinct "
            "(frequency, recency_days, t_days) of the calibration customers, from BG/NBD fitted on data up "
            "to the cutoff.",
            **_COMMON,
        ),
        AssetSpec(
            BACKTEST_FITS,
            description="Backtest: the BG/NBD fit at each cutoff (parameters, customers, converged, "
            "message).",
            **_COMMON,
        ),
    ],
)
def clv_backtest(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, settings: Settings, spark: SparkEngine
) -> Iterator[MaterializeResult]:
    """Fit BG/NBD at each backtest cutoff and predict the holdout (orchestration/lib/clv/backtest.py).

    On Spark (RW_ENGINE=spark) the summary is the Spark-built one the dbt step copied to the build DuckDB;
    the results go back to Spark's `clv`, where mart_clv_backtest is built."""
    with warehouse.connect() as con:
        run = fit_backtest(con)
        if settings.engine == "spark":
            tables = ["backtest_predictions", "backtest_fits"]
            context.log.info(
                f"CLV backtest written to Spark: {duckdb_to_spark(con, spark.session(), 'clv', tables)}"
            )
    context.log.info(f"CLV backtest: {run.reused_cutoffs} of {run.cutoffs} cutoffs unchanged, fits kept")
    for failure in run.failed_cutoffs:
        context.log.warning(f"CLV backtest cutoff not fitted: {failure}")
    yield MaterializeResult(
        asset_key=BACKTEST_PREDICTIONS, metadata={"dagster/row_count": run.predicted_rows}
    )
    yield MaterializeResult(
        asset_key=BACKTEST_FITS,
        metadata={
            "dagster/row_count": run.cutoffs,
            "failed_cutoffs": len(run.failed_cutoffs),
            "reused_cutoffs": run.reused_cutoffs,
        },
    )
