"""The one job: everything the daily schedule, the landing sensor and `make run` build."""

from dagster import AssetSelection, define_asset_job

from orchestration.defs.quality.freshness import asset_freshness_checks

build_warehouse = define_asset_job(
    "build_warehouse",
    # Freshness checks are judged between runs by their sensor: inside the run they would only say "just now".
    selection=AssetSelection.all() - AssetSelection.checks(*asset_freshness_checks),
    description="Load new landing files, build all dbt models, fit CLV, run every quality check, publish.",
)
