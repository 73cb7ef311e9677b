"""The one job: everything the daily schedule, the landing sensor and `make run` build."""

from dagster import AssetSelection, define_asset_job

build_warehouse = define_asset_job(
    "build_warehouse",
    selection=AssetSelection.all(),
    description="Load new landing files, build all dbt models, fit CLV, run every quality check, publish.",
)
