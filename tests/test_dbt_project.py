"""Static checks of the dbt project: mart docs and contracts, the columns other code relies on, vars."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from orchestration.settings import DBT_PROJECT_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"
# Marts sit in subject folders (core, retention, value, service); each model's YAML is beside its SQL.
MART_SQL = {p.stem: p for p in MARTS_DIR.rglob("*.sql")}
MART_NAMES = sorted(MART_SQL)

# Columns the tests, the CLV step and BI rely on (the BI contract, docs/bi_connections.md).
REQUIRED_COLUMNS = {
    "fct_customer_months": """customer_id month_start month_end is_partial_month acquisition_channel
        lifecycle_stage previous_stage orders net_revenue days_since_last_order""",
    "fct_lifecycle_transitions": "customer_id month_start from_stage to_stage",
    "mart_customer_flows": """month_start acquisition_channel customers_start gained kept lost won_back
        customers_end net_change acquisition_retention_ratio""",
    "mart_retention_cohorts": """cohort_month acquisition_channel month_offset cohort_size active_customers
        retention_rate net_revenue cumulative_revenue_per_customer revenue_retention""",
    "mart_customer_value": """customer_id acquisition_channel frequency recency t monetary_value p_alive
        days_since_last_purchase expected_purchases expected_order_value clv value_tier""",
    "mart_customer_equity": """month_end is_partial_month acquisition_channel customers customer_equity
        cash_flow customers_start equity_start equity_change retained_cash_flow retained_equity_end roc
        new_customers acquisition_cash_flow acquisition_equity acquisition_contribution""",
    "dim_customers": """customer_id acquisition_channel first_order_date last_order_date order_count
        net_revenue ticket_count csat latest_nps lifecycle_stage p_alive clv value_tier""",
    "fct_orders": """order_id customer_id order_date order_month status is_completed currency gross_revenue
        discount refunds net_revenue tax shipping promo_code referral_code""",
    "fct_tickets": """ticket_id customer_id order_id priority created_at first_response_hours resolution_hours
        breached_first_response_sla breached_resolution_sla is_sla_breached""",
    "mart_relationship_health": """customer_id satisfaction trust control_mutuality commitment mind_set
        word_of_mouth health_score indicators_used health_band""",
    "mart_nps": "month_start segment_type segment responses promoters passives detractors nps",
    "mart_clv_backtest": """cutoff_date holdout_end_date frequency_bucket customers actual_purchases
        predicted_purchases error""",
}


def _model_yaml(name: str) -> dict:
    doc = yaml.safe_load(MART_SQL[name].with_suffix(".yml").read_text())
    (model,) = [m for m in doc["models"] if m["name"] == name]
    return model


def test_every_expected_mart_exists() -> None:
    assert set(REQUIRED_COLUMNS) | {"mart_relationship_health_summary", "mart_post_purchase_recovery"} <= set(
        MART_NAMES
    )


@pytest.mark.parametrize("name", MART_NAMES)
def test_mart_has_grain_contract_and_documented_typed_columns(name: str) -> None:
    model = _model_yaml(name)
    assert "grain" in model["description"].lower(), f"{name}: description must state the grain"
    columns = model["columns"]
    assert columns, f"{name}: no columns"
    for column in columns:
        assert column.get("description", "").strip(), f"{name}.{column['name']} has no description"
        assert column.get("data_type"), f"{name}.{column['name']} has no data_type"
    names = {c["name"] for c in columns}
    assert set(REQUIRED_COLUMNS.get(name, "").split()) <= names
    unique_key_tests = [
        t for t in model.get("data_tests", []) if isinstance(t, dict) and "unique_combination" in t
    ] + [
        c
        for c in columns
        if any("unique" in (t if isinstance(t, dict) else [t]) for t in c.get("data_tests") or [])
    ]
    assert unique_key_tests, f"{name}: no unique-key test on its grain"


def test_every_mart_contract_is_enforced_by_its_folder() -> None:
    """Contracts are set once for the marts folder (dbt_project.yml); no mart's YAML turns its own off."""
    marts = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["models"][
        "retention_warehouse"
    ]["marts"]
    assert marts["+contract"]["enforced"] is True
    for name in MART_NAMES:
        assert "contract" not in _model_yaml(name).get("config", {}), name


def test_every_model_has_its_own_yaml_beside_it() -> None:
    """One YAML per model, named after it, next to its SQL; no shared models file."""
    for sql in (DBT_PROJECT_DIR / "models").rglob("*.sql"):
        doc = yaml.safe_load(sql.with_suffix(".yml").read_text())
        assert [m["name"] for m in doc["models"]] == [sql.stem], sql


def test_materialisation_is_set_per_folder_not_in_sql() -> None:
    """Only incremental models set their materialisation in SQL (the rows they rewrite go with the select);
    macro rewrite_materialization makes them tables on Spark."""
    in_sql = {
        sql.stem: sql.read_text()
        for sql in (DBT_PROJECT_DIR / "models").rglob("*.sql")
        if "materialized=" in sql.read_text()
    }
    assert {"fct_orders", "fct_tickets", "fct_customer_months"} <= set(in_sql)
    for name, text in in_sql.items():
        assert "materialized=rewrite_materialization()" in text, name
        assert 'incremental_strategy="rewrite"' in text, name


def _declared_vars() -> set[str]:
    return set(yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"])


def _used_vars() -> set[str]:
    pattern = re.compile(r"""(?<!env_)var\(\s*['"](\w+)['"]""")
    used: set[str] = set()
    for folder in ("models", "macros", "tests", "snapshots"):
        for path in Path(DBT_PROJECT_DIR / folder).rglob("*"):
            if path.suffix in (".sql", ".yml"):
                used |= set(pattern.findall(path.read_text()))
    # Folder configs in dbt_project.yml read vars too (the snapshot's Spark file format).
    used |= set(pattern.findall((DBT_PROJECT_DIR / "dbt_project.yml").read_text()))
    return used


def test_every_var_used_is_declared_and_every_declared_var_is_used() -> None:
    declared, used = _declared_vars(), _used_vars()
    assert used - declared == set(), "vars used but not declared in dbt_project.yml"
    assert declared - used == set(), "vars declared but never used"


def test_every_var_has_a_doc_comment() -> None:
    """Each var (or group of consecutive vars) in dbt_project.yml sits under a comment saying what it is."""
    lines = (DBT_PROJECT_DIR / "dbt_project.yml").read_text().splitlines()
    start = lines.index("vars:")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith(" "))
    var_line = re.compile(r"^  (\w+):")
    for i in range(start + 1, end):
        match = var_line.match(lines[i])
        if not match:
            continue
        j = i - 1
        while var_line.match(lines[j]) or lines[j].startswith("    "):
            j -= 1
        assert lines[j].strip().startswith("#"), f"var {match.group(1)} has no doc comment above it"
