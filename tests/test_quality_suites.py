"""GX suites follow raw_schema.py, the committed context writes nothing into the repo, the per-file load
health numbers are right, and a blocking GX check stops downstream assets in a small Dagster graph."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, Definitions, asset, materialize

from orchestration.lib.quality.context import CONTEXT_DIR, open_context, validate_frame
from orchestration.lib.quality.gx_checks import SqlFrame, gx_asset_checks, gx_check
from orchestration.lib.quality.raw_frames import load_health_frame
from orchestration.lib.quality.suites import SUITES_DIR, all_suites, suite_json
from orchestration.lib.raw_schema import RAW_TABLES
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import PROJECT_ROOT, Settings


def _suite(name: str) -> dict:
    return json.loads((SUITES_DIR / f"{name}.json").read_text())


def test_committed_suites_are_what_the_generator_writes():
    suites = all_suites()
    for suite in suites:
        path = SUITES_DIR / f"{suite.name}.json"
        assert path.exists(), f"{path} missing: run python -m orchestration.lib.quality.suites"
        assert path.read_text() == suite_json(suite), (
            f"{path.name} is stale: run python -m orchestration.lib.quality.suites"
        )
    committed = {p.stem for p in SUITES_DIR.glob("*.json")}
    assert committed == {s.name for s in suites}, "suite files without a generator entry"


def test_raw_suites_carry_every_rule_of_the_raw_schema():
    for table in RAW_TABLES:
        by_type: dict[tuple[str, str], dict] = {}
        for e in _suite(f"raw_{table.name}")["expectations"]:
            by_type[(e["type"], e["kwargs"].get("column", ""))] = e
        for c in table.columns:
            assert ("expect_column_values_to_be_of_type", c.name) in by_type, (table.name, c.name)
            if c.required:
                assert ("expect_column_values_to_not_be_null", c.name) in by_type, (table.name, c.name)
            if c.allowed:
                assert by_type[("expect_column_values_to_be_in_set", c.name)]["kwargs"]["value_set"] == list(
                    c.allowed
                )
            if c.min_value is not None or c.max_value is not None:
                kwargs = by_type[("expect_column_values_to_be_between", c.name)]["kwargs"]
                assert (kwargs.get("min_value"), kwargs.get("max_value")) == (c.min_value, c.max_value)


def test_validation_writes_results_and_docs_outside_the_repository(tmp_path: Path):
    before = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--", "expectations"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    context = open_context(tmp_path)
    frame = pd.DataFrame(
        {
            "health_band": ["strong", "weak"],
            "customers": [3, 2],
            "retention_rate": [0.5, 1.5],
            "churn_share": [0, 0],
        }
    )
    result, _ = validate_frame(
        context, "mart_relationship_health_summary", frame, run_name="t", batch_label="b"
    )
    context.build_data_docs()
    failed = [r.expectation_config.kwargs.get("column") for r in result.results if not r.success]
    assert failed == ["retention_rate"]
    assert (tmp_path / "data_docs" / "index.html").exists()
    assert list((tmp_path / "gx" / "validations").rglob("*.json"))
    after = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--", "expectations"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert after == before, f"validation wrote into the repository: {after}"
    assert CONTEXT_DIR.joinpath("great_expectations.yml").exists()


ORDERS = next(t for t in RAW_TABLES if t.name == "shop_orders")


def test_load_health_frame_hand_worked():
    # Eight monthly files (2025-01..08) of ~100 rows; the pending file f8 (August) has 10 rows (collapsed),
    # none with a discount; f9 (September) is pending too, normal in volume, but lost its discount column.
    # Volumes compare rows per day covered, averaged over the RECENT_FILES (6) files before each.
    names = [f"orders/orders/orders_2025-0{i}.jsonl" for i in range(1, 10)]
    days = [31, 28, 31, 30, 31, 30, 31, 31, 30]
    rows = [100, 100, 100, 100, 100, 100, 100, 10, 120]
    current = pd.DataFrame({"file": names, "status": "loaded", "rows_in_file": rows})
    pending = pd.DataFrame(
        {
            "file": names[7:],
            "status": "loaded",
            "message": None,
            "rows_in_file": [10, 120],
            "rows_accepted": [8, 120],
            "rows_quarantined": [2, 0],
        }
    )
    counts = {c.name: rows for c in ORDERS.columns}
    counts["discount_total"] = [90, 90, 90, 90, 90, 90, 90, 0, 0]
    profiles = pd.DataFrame(
        {"file": names, "raw_rows": [100] * 7 + [8, 120], "repeated_rows": [0] * 8 + [12], **counts}
    )
    quarantine = pd.DataFrame(
        {"file": [names[7]], "rows": [2], "top_reason": ["order_id: required value is missing"]}
    )
    frame = load_health_frame(current, pending, profiles, quarantine, ORDERS).set_index("file")
    f8, f9 = frame.loc[names[7]], frame.loc[names[8]]
    # 2 of 10 records quarantined: a file under MIN_ROWS_FOR_SHARES rows is not judged by share.
    assert pd.isna(f8["quarantined_share"]) and pd.isna(f8["repeated_row_share"])
    # f8: 10 rows over 31 days against February..July (100 rows each over 28, 31, 30, 31, 30, 31 days).
    feb_to_jul = sum(100 / d for d in days[1:7]) / 6
    assert f8["rows_vs_recent"] == pytest.approx((10 / 31) / feb_to_jul)
    # 8 rows at the earlier 90% fill rate should hold 7.2 discounts: too few to call zero an emptied column.
    assert f8["emptied_column_count"] == 0
    assert f8["ledger_vs_raw_rows"] == 0 and f8["ledger_vs_quarantine_rows"] == 0
    assert f8["top_quarantine_reason"] == "order_id: required value is missing"
    # f9: previous six files are March..August, August with 10 rows.
    mar_to_aug = (100 / 31 + 100 / 30 + 100 / 31 + 100 / 30 + 100 / 31 + 10 / 31) / 6
    assert f9["rows_vs_recent"] == pytest.approx((120 / 30) / mar_to_aug)
    # f9: 120 rows at March..August's fill rate (450 of 508 rows) should hold 106 discounts and hold none.
    assert f9["emptied_columns"] == "discount_total" and f9["emptied_column_count"] == 1
    assert f9["quarantined_share"] == 0
    assert f9["repeated_row_share"] == pytest.approx(12 / 120)


@pytest.mark.parametrize(
    ("monthly", "daily", "expected_ratio"),
    [
        # 60 rows on 2025-07-01 against 3,100 per 31-day month (100 a day): 0.6 of the usual volume.
        (3100, 60, 0.6),
        # 3 rows against 93 per month (3 a day): a day's file of 3 rows says nothing about volume, since
        # 1 or 6 would be chance as well (fewer than MIN_RECENT_ROWS expected): not judged.
        (93, 3, None),
    ],
)
def test_load_health_frame_daily_file_after_monthly_history(monthly, daily, expected_ratio):
    # Daily deliveries after monthly exports are compared per day covered; no discount in a file that
    # should hold few is chance, not an emptied column.
    names = [f"orders/orders/orders_2025-0{i}.jsonl" for i in (1, 3, 5)] + [
        "orders/orders/orders_2025-07-01.jsonl"
    ]
    rows = [monthly, monthly, monthly, daily]
    current = pd.DataFrame({"file": names, "status": "loaded", "rows_in_file": rows})
    pending = pd.DataFrame(
        {
            "file": names[3:],
            "status": "loaded",
            "message": None,
            "rows_in_file": [daily],
            "rows_accepted": [daily],
            "rows_quarantined": [0],
        }
    )
    counts = {c.name: rows for c in ORDERS.columns}
    counts["discount_total"] = [monthly * 90 // 100] * 3 + [daily if expected_ratio else 0]
    profiles = pd.DataFrame({"file": names, "raw_rows": rows, "repeated_rows": [0] * 4, **counts})
    quarantine = pd.DataFrame(columns=["file", "rows", "top_reason"])
    day = load_health_frame(current, pending, profiles, quarantine, ORDERS).set_index("file").loc[names[3]]
    if expected_ratio is None:
        assert pd.isna(day["rows_vs_recent"])
    else:
        assert day["rows_vs_recent"] == pytest.approx(expected_ratio)
    assert day["emptied_column_count"] == 0


def _summary_rows(con: duckdb.DuckDBPyConnection, retention: float) -> None:
    con.execute("create schema if not exists marts")
    con.execute(
        "create or replace table marts.mart_relationship_health_summary as select * from (values "
        f"('strong', 10, 0.9, 0.1), ('weak', 5, {retention}, 0.4)) "
        "t(health_band, customers, retention_rate, churn_share)"
    )


def test_a_failed_blocking_gx_check_stops_downstream_assets(tmp_path: Path):
    db = str(tmp_path / "small.duckdb")

    @asset(key="mart_relationship_health_summary")
    def summary(warehouse: DuckDBWarehouse) -> None:
        with warehouse.connect() as con:
            _summary_rows(con, float(open(tmp_path / "retention").read()))

    @asset(deps=[AssetKey("mart_relationship_health_summary")])
    def published() -> None:
        (tmp_path / "published").write_text("yes")

    checks = gx_asset_checks(
        "gx_small",
        [
            gx_check(
                "mart_relationship_health_summary",
                ["mart_relationship_health_summary"],
                SqlFrame("select * from marts.mart_relationship_health_summary", "summary", ("health_band",)),
            )
        ],
    )
    resources = {
        "warehouse": DuckDBWarehouse(path=db),
        "settings": Settings(reports_dir=tmp_path / "reports"),
    }

    (tmp_path / "retention").write_text("1.7")  # a share above 1: impossible
    bad = materialize(
        [summary, published, checks],
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not bad.success
    evaluation = next(
        e.event_specific_data for e in bad.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    )
    assert not evaluation.passed and evaluation.severity.value == "ERROR"
    assert "retention_rate is a share between 0 and 1" in evaluation.description
    assert "health_band=weak" in evaluation.description
    assert not (tmp_path / "published").exists(), "downstream asset ran despite the failed blocking check"
    docs = Path(evaluation.metadata["data_docs"].value)
    assert docs.exists() and docs.is_relative_to(tmp_path / "reports" / "data_docs")

    (tmp_path / "retention").write_text("0.6")
    good = materialize(
        [summary, published, checks],
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert good.success
    assert (tmp_path / "published").read_text() == "yes"


def test_quality_checks_load_into_definitions():
    from orchestration.defs.quality.checks import quality_checks

    Definitions(asset_checks=quality_checks)  # raises on a clash or a bad spec
    specs = [s for c in quality_checks for s in c.check_specs]
    names = {s.name for s in specs}
    assert {"raw_shop_orders", "raw_load_health", "mart_fct_orders", "mart_customer_equity"} <= names
    for s in specs:  # critical suites block, warnings and freshness never do
        assert s.blocking == (not s.name.endswith("_warnings") and s.name != "dbt_source_freshness"), s.name
