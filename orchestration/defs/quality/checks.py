"""The Great Expectations suites as Dagster asset checks (blocking on ERROR): raw-file contracts, load
health and volume on every raw table, distributions and invariants on the marts. Which kind of check
lives where (dbt tests, GX, freshness): expectations/README.md. Results and Data Docs are written under
`Settings.reports_dir` (`<reports>/data_docs/index.html`).

Checks that can only run after the same step share one check step: all raw tables (after the loads),
the marts dbt builds before the CLV fit, and those it builds after it. A step never checks an asset that
is upstream of another asset it reads, so a blocking check can never wait on what it blocks.
"""

from dagster import AssetChecksDefinition

from orchestration.defs.transform.dbt import dbt_after_clv
from orchestration.lib.quality.gx_checks import gx_asset_checks, gx_check
from orchestration.lib.quality.mart_frames import MART_FRAMES
from orchestration.lib.quality.raw_frames import RawLoadHealth, RawRows
from orchestration.lib.raw_schema import RAW_TABLES

_after_clv = {k.path[-1] for k in dbt_after_clv.keys}

raw_checks = gx_asset_checks(
    "gx_raw_tables",
    [
        check
        for table in RAW_TABLES
        for check in (
            gx_check(f"raw_{table.name}", ["raw", table.name], RawRows(table)),
            gx_check("raw_load_health", ["raw", table.name], RawLoadHealth(table)),
        )
    ],
)

marts_before_clv_checks = gx_asset_checks(
    "gx_marts_before_clv",
    [
        gx_check(suite, [model], frame)
        for suite, (model, frame) in MART_FRAMES.items()
        if model not in _after_clv
    ],
)

marts_after_clv_checks = gx_asset_checks(
    "gx_marts_after_clv",
    [gx_check(suite, [model], frame) for suite, (model, frame) in MART_FRAMES.items() if model in _after_clv],
)

quality_checks: list[AssetChecksDefinition] = [
    raw_checks,
    marts_before_clv_checks,
    marts_after_clv_checks,
]
