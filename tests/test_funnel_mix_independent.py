"""mart_lifecycle_funnel and mart_retention_mix of the sample warehouse equal a pandas recomputation from raw.

tests/independent_funnel_mix.py is written from DECISIONS.md only (never from the dbt SQL). Every column of
both marts is compared: integers and labels exactly, rates and medians to 1e-6 relative; a failure lists the
first differing rows.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from independent_funnel_mix import funnel, read_raw_crm_and_support, retention_mix
from independent_model import Model, build, frame_differences, read_raw

from orchestration.settings import Settings


@pytest.fixture(scope="module")
def raw(built_warehouse: Settings) -> dict[str, pd.DataFrame]:
    return {**read_raw(built_warehouse.duckdb_path), **read_raw_crm_and_support(built_warehouse.duckdb_path)}


@pytest.fixture(scope="module")
def model(raw) -> Model:
    return build(raw)


@pytest.fixture(scope="module")
def marts(built_warehouse: Settings) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        return {
            m: con.sql(f"select * from marts.{m}").df()
            for m in ("mart_lifecycle_funnel", "mart_retention_mix")
        }


def test_the_sample_exercises_every_entry_point_and_lever(model: Model, raw, marts):
    """Guards the comparisons below against passing on a sample without leads, guests, referrals, exposure."""
    f = funnel(model, raw)
    assert set(f["entry_point"]) == {"lead", "contact", "guest"}
    leads = f[(f["entry_point"] == "lead") & (f["acquisition_channel"] == "all")]
    assert leads["leads"].sum() > leads["contacts"].sum() > 0  # unconverted leads exist
    assert f["advocates"].sum() > 0
    mix = marts["mart_retention_mix"]
    assert set(mix["lever"]) == {
        "account_manager",
        "loyalty_promo",
        "campaign_touch",
        "post_purchase_ticket_solved_within_target",
    }
    exposed = mix[mix["is_exposed"]].groupby("lever")["customers"].sum()
    assert (exposed > 0).all(), exposed
    assert mix["is_window_observed"].any() and not mix["is_window_observed"].all()


def test_lifecycle_funnel(model: Model, raw, marts):
    problems = frame_differences(
        funnel(model, raw),
        marts["mart_lifecycle_funnel"],
        keys=["cohort_month", "acquisition_channel", "entry_point"],
        exact=["funnel_start", "purchasers", "repeat_purchasers", "advocates"],
        approx=[
            "leads",
            "contacts",
            "lead_to_contact_rate",
            "contact_to_purchase_rate",
            "purchase_to_repeat_rate",
            "repeat_to_advocate_rate",
            "median_days_lead_to_contact",
            "median_days_contact_to_purchase",
            "median_days_purchase_to_repeat",
            "median_days_repeat_to_advocate",
        ],
    )
    assert not problems, "\n\n".join(problems)


def test_retention_mix(model: Model, raw, marts):
    problems = frame_differences(
        retention_mix(model, raw),
        marts["mart_retention_mix"],
        keys=["month_start", "lever", "is_exposed"],
        exact=["customers", "is_window_observed", "churned_customers"],
        approx=["repurchased_customers", "repurchase_rate", "churn_rate"],
    )
    assert not problems, "\n\n".join(problems)


def test_mix_groups_partition_the_flows_base(model: Model, marts):
    """Exposed + not exposed = the customers live at the start of the month, and their churned = the month's
    lost, for every lever over the whole base (not the post-purchase lever: it compares ticket holders)."""
    mix = marts["mart_retention_mix"]
    whole = mix[mix["lever"] != "post_purchase_ticket_solved_within_target"]
    per_month = (
        whole.groupby(["month_start", "lever"])[["customers", "churned_customers"]].sum().reset_index()
    )
    flows = model.flows[model.flows["acquisition_channel"] == "all"].set_index("month_start")
    months = pd.to_datetime(per_month["month_start"]).astype("datetime64[us]")
    assert (per_month["customers"].to_numpy() == flows.loc[months, "customers_start"].to_numpy()).all()
    assert (per_month["churned_customers"].to_numpy() == flows.loc[months, "lost"].to_numpy()).all()
