"""mart_relationship_health on the sample warehouse: word of mouth and mind-set recomputed in pandas from the
rows they come from, and the composite recomputed over the indicators that have data (DECISIONS.md,
Relationship health): an indicator without data is null and carries no weight, and indicators_used counts
the others."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from orchestration.settings import DBT_PROJECT_DIR, Settings

INDICATORS = ["satisfaction", "trust", "control_mutuality", "commitment", "mind_set", "word_of_mouth"]


@pytest.fixture(scope="module")
def frames(built_warehouse: Settings) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        return {
            "health": con.sql("select * from marts.mart_relationship_health").df(),
            "orders": con.sql(
                "select customer_id, referrer_customer_id, is_completed from marts.fct_orders"
            ).df(),
            "nps": con.sql(
                "select customer_id, score, submitted_at, submitted_date, response_id "
                "from intermediate.int_nps__resolved"
            ).df(),
            "as_of": con.sql("select as_of_date from intermediate.int_as_of_date__resolved").df(),
        }


def test_word_of_mouth_is_null_without_referrals(frames):
    health = frames["health"].set_index("customer_id")
    orders = frames["orders"]
    referring = orders[orders["is_completed"] & orders["referrer_customer_id"].notna()]
    referring = referring[referring["referrer_customer_id"] != referring["customer_id"]]
    referred = referring.groupby("referrer_customer_id")["customer_id"].nunique().reindex(health.index)
    expected = np.minimum(referred / 2.0, 1.0)  # var health_full_referrals = 2
    assert health["word_of_mouth"].isna().equals(referred.isna())
    np.testing.assert_allclose(health["word_of_mouth"].dropna(), expected.dropna(), rtol=1e-12)
    assert health["word_of_mouth"].isna().mean() > 0.5  # the sample: most customers referred nobody


def test_mind_set_follows_the_latest_response_category(frames):
    health = frames["health"].set_index("customer_id")
    nps = frames["nps"].dropna(subset=["customer_id"])
    as_of = pd.Timestamp(frames["as_of"]["as_of_date"].iloc[0])
    nps = nps[(as_of - pd.to_datetime(nps["submitted_date"])).dt.days < 365]  # var nps_window_days
    latest = (
        nps.sort_values(["submitted_at", "response_id"])
        .groupby("customer_id")
        .tail(1)
        .set_index("customer_id")
    )
    category_value = np.select([latest["score"] >= 9, latest["score"] >= 7], [1.0, 0.5], 0.0)
    expected = pd.Series(category_value, index=latest.index).reindex(health.index)
    assert health["mind_set"].isna().equals(expected.isna())
    np.testing.assert_array_equal(health["mind_set"].dropna(), expected.dropna())
    assert set(health["mind_set"].dropna()) == {0.0, 0.5, 1.0}


def test_score_reweights_over_the_indicators_with_data(frames):
    health = frames["health"]
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    weights = pd.Series(project["vars"]["health_weights"])[INDICATORS]
    values = health[INDICATORS]
    has = values.notna()
    expected = 100.0 * (values.fillna(0) * weights).sum(axis=1) / (has * weights).sum(axis=1)
    np.testing.assert_allclose(health["health_score"], expected, rtol=1e-9)
    assert (health["indicators_used"] == has.sum(axis=1)).all()
    assert health["indicators_used"].nunique() > 2
