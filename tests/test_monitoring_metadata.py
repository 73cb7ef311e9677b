"""What a data team sees in `make dev`: every asset in one of the groups raw -> staging -> marts -> serving,
with an owner and a description, and row counts and timings on the materializations of a real build."""

from __future__ import annotations

import duckdb

from orchestration.definitions import defs

GROUPS = {"raw", "staging", "marts", "serving"}


def test_every_asset_has_group_owner_and_description() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        name = key.to_user_string()
        assert node.group_name in GROUPS, f"{name} is in group {node.group_name}"
        assert node.owners, f"{name} has no owner"
        assert (node.description or "").strip(), f"{name} has no description"


def _materializations(result) -> dict[str, dict]:
    return {
        e.asset_key.to_user_string(): e.event_specific_data.materialization.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def test_materializations_carry_row_counts_and_timings(sample_build) -> None:
    settings, result = sample_build
    seen = _materializations(result)
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema in ('raw', 'marts')"
        ).fetchall()
        actual = {
            (f"raw/{t}" if s == "raw" else t): con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
            for s, t in tables
            if not t.startswith("_")
        }
    counted = {k: v for k, v in actual.items() if k in seen}
    assert len(counted) >= 20, f"too few raw tables and marts materialized: {sorted(counted)}"
    for name, rows in counted.items():
        metadata = seen[name]
        assert "dagster/row_count" in metadata, f"{name} has no row count"
        assert metadata["dagster/row_count"].value == rows, f"{name}: metadata vs count(*)"
    for name in ("fct_orders", "mart_retention_cohorts", "stg_shop__orders"):
        assert seen[name]["Execution Duration"].value > 0, f"{name} has no timing"
    assert seen["raw/shop_orders"]["seconds"].value > 0
