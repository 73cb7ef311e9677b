"""mart_nps on the sample warehouse equals NPS recomputed in pandas from the same rows.

The rows are the NPS responses as resolved to customers (intermediate.int_nps__resolved: identity
resolution is checked elsewhere) and the customers' channel, segment and internal flag; pandas classifies
each score itself (promoter 9-10, passive 7-8, detractor 0-6) and computes % promoters - % detractors per
month and segment.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.settings import Settings


@pytest.fixture(scope="module")
def frames(built_warehouse: Settings) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        return {
            "nps": con.sql(
                "select customer_id, score, submitted_at from intermediate.int_nps__resolved"
            ).df(),
            "customers": con.sql(
                "select customer_id, acquisition_channel, segment, is_internal "
                "from intermediate.int_customers__resolved"
            ).df(),
            "mart": con.sql("select * from marts.mart_nps").df(),
        }


def expected_nps(nps: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    known = nps.merge(customers[~customers["is_internal"]], on="customer_id", how="inner")
    submitted = pd.to_datetime(known["submitted_at"])
    known = known.assign(
        month_start=submitted.dt.to_period("M").dt.to_timestamp(),
        promoter=known["score"] >= 9,
        detractor=known["score"] <= 6,
        passive=known["score"].between(7, 8),
        segment=known["segment"].fillna("unknown"),
    )
    parts = []
    for segment_type, column in (
        ("all", None),
        ("acquisition_channel", "acquisition_channel"),
        ("segment", "segment"),
    ):
        frame = known.assign(value="all" if column is None else known[column])
        grouped = frame.groupby(["month_start", "value"]).agg(
            responses=("score", "size"), promoters=("promoter", "sum"),
            passives=("passive", "sum"), detractors=("detractor", "sum"),
        )  # fmt: skip
        parts.append(
            grouped.reset_index().rename(columns={"value": "segment"}).assign(segment_type=segment_type)
        )
    out = pd.concat(parts, ignore_index=True)
    out["nps"] = 100.0 * (out["promoters"] - out["detractors"]) / out["responses"]
    return out


def test_nps_matches_pandas(frames):
    expected = expected_nps(frames["nps"], frames["customers"])
    mart = frames["mart"].assign(month_start=lambda f: pd.to_datetime(f["month_start"]))
    keys = ["month_start", "segment_type", "segment"]
    joined = expected.merge(mart, on=keys, how="outer", suffixes=("_expected", ""), indicator=True)
    assert (joined["_merge"] == "both").all(), joined.loc[joined["_merge"] != "both", [*keys, "_merge"]]
    for column in ("responses", "promoters", "passives", "detractors"):
        assert (joined[column] == joined[f"{column}_expected"]).all(), column
    np.testing.assert_allclose(joined["nps"], joined["nps_expected"], rtol=1e-9)
    assert (joined["nps"].between(-100, 100)).all()


def test_the_sample_nps_is_not_trivial(frames):
    mart = frames["mart"]
    every = mart[mart["segment_type"] == "all"]
    assert every["responses"].sum() > 100 and (every["nps"] != every["nps"].iloc[0]).any()
    assert mart.loc[mart["segment_type"] == "acquisition_channel", "segment"].nunique() > 2
    assert mart.loc[mart["segment_type"] == "segment", "segment"].nunique() > 2
