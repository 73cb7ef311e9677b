"""Plain-pandas recomputation of the lifecycle, cohort and flow marts from the raw layer.

Written from ../shared/DOMAIN.md and dbt_project/DECISIONS.md only, never from the dbt SQL, so a test that
compares the two catches a model that drifted from the definitions. For small data: it reads whole raw
tables into memory. Dates are pandas Timestamps at midnight (UTC calendar days).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

LIVE_STAGES = ("new", "active", "at_risk", "reactivated")
DATE_COLUMNS = ("month_start", "month_end", "cohort_month")
REPORTING_CURRENCY = "USD"  # rates are USD per unit, so USD converts at 1
RAW_TABLES_READ = (
    "crm_contacts",
    "crm_activities",
    "shop_orders",
    "shop_refunds",
    "shop_exchange_rates",
    "support_tickets",
    "support_csat",
    "support_nps",
)


@dataclass(frozen=True)
class Params:
    """The dbt vars the lifecycle, cohort and flow marts depend on, at their documented defaults."""

    as_of_date: pd.Timestamp | None = None  # None: the latest event date in the data
    active_days: int = 90
    churn_days: int = 180
    internal_email_domains: tuple[str, ...] = ("example-internal.test",)


@dataclass(frozen=True)
class Model:
    as_of_date: pd.Timestamp
    orders: pd.DataFrame  # resolved, deduplicated, non-internal orders up to as_of_date, with net_revenue
    customers: pd.DataFrame  # customer_id, acquisition_channel, first_known_month
    customer_months: pd.DataFrame
    cohorts: pd.DataFrame
    flows: pd.DataFrame


def read_raw(duckdb_path: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return {t: con.sql(f"select * from raw.{t}").df() for t in RAW_TABLES_READ}


# ------------------------------------------------------------------ small helpers


def utc_day(ts: pd.Series) -> pd.Series:
    """The UTC calendar date of a timestamp column (any offset), as a midnight Timestamp."""
    return pd.to_datetime(ts, utc=True).dt.tz_localize(None).dt.floor("D").astype("datetime64[us]")


def month_index(day: pd.Series) -> pd.Series:
    """Months since year 0, so month arithmetic is integer arithmetic."""
    return day.dt.year * 12 + day.dt.month - 1


def month_start(index: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"year": index // 12, "month": index % 12 + 1, "day": 1})
    return pd.to_datetime(frame).astype("datetime64[us]")


def normalised_email(email: pd.Series) -> pd.Series:
    return email.str.strip().str.lower()


def email_domain(email_norm: pd.Series) -> pd.Series:
    return email_norm.str.rsplit("@", n=1).str[-1]


def latest_copy(df: pd.DataFrame, key: str | list[str]) -> pd.DataFrame:
    """A record exported more than once keeps the copy from the latest file (by name), then line."""
    return df.sort_values(["_file", "_line"]).drop_duplicates(key, keep="last")


def guest_id(email_norm: str) -> str:
    return "g-" + hashlib.md5(email_norm.encode()).hexdigest()


# ------------------------------------------------------------------ definitions


def latest_event_date(raw: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """Default as_of_date: max UTC date over the event timestamps DECISIONS.md lists."""
    events = [
        raw["shop_orders"]["created_at"],
        raw["shop_refunds"]["created_at"],
        raw["support_tickets"]["created_at"],
        raw["support_csat"]["created_at"],
        raw["support_nps"]["submitted_at"],
        raw["crm_contacts"]["updated_at"],
        raw["crm_activities"]["occurred_at"],
    ]
    return max(utc_day(s).max() for s in events if s.notna().any())


def resolve_contacts(contacts: pd.DataFrame, as_of: pd.Timestamp, params: Params) -> pd.DataFrame:
    """One row per CRM contact known by as_of: earliest version's channel, first created day, internal."""
    c = contacts.assign(
        email_norm=normalised_email(contacts["email"]),
        created_day=utc_day(contacts["created_at"]),
        updated_day=utc_day(contacts["updated_at"]),
    )
    c = c[c["updated_day"] <= as_of].sort_values(["updated_at", "_file", "_line"])
    c["internal"] = c["is_internal"].fillna(False).astype(bool) | email_domain(c["email_norm"]).isin(
        params.internal_email_domains
    )
    per_contact = c.groupby("contact_id").agg(
        created_day=("created_day", "min"), internal=("internal", "any")
    )
    earliest = c.drop_duplicates("contact_id", keep="first").set_index("contact_id")
    per_contact["acquisition_channel"] = earliest["acquisition_channel"]
    per_contact = per_contact[per_contact["created_day"] <= as_of]
    # Every normalised email any kept version had, pointing to the lowest contact_id carrying it.
    versions = c[c["contact_id"].isin(per_contact.index)]
    per_contact.attrs["email_to_contact"] = versions.groupby("email_norm")["contact_id"].min()
    return per_contact


def rate_on(currency: pd.Series, day: pd.Series, rates: pd.DataFrame) -> pd.Series:
    """USD per unit of `currency` at the latest published rate on or before `day` (NaN when none)."""
    left = pd.DataFrame({"currency": currency.to_numpy(), "day": day.to_numpy(), "pos": np.arange(len(day))})
    left = left.sort_values("day")
    right = rates[["currency", "rate_day", "usd_per_unit"]].sort_values("rate_day")
    joined = pd.merge_asof(
        left, right, left_on="day", right_on="rate_day", by="currency", direction="backward"
    ).sort_values("pos")
    rate = pd.Series(joined["usd_per_unit"].to_numpy(), index=currency.index)
    return rate.where(currency != REPORTING_CURRENCY, 1.0)


def resolve_orders(
    raw: dict[str, pd.DataFrame], contacts: pd.DataFrame, as_of: pd.Timestamp, params: Params
) -> pd.DataFrame:
    """Deduplicated orders up to as_of, resolved to a customer, internal ones dropped, USD net revenue."""
    o = latest_copy(raw["shop_orders"], "order_id")
    o = o.assign(day=utc_day(o["created_at"]), email_norm=normalised_email(o["email"]))
    o = o[o["day"] <= as_of].copy()
    known = o["customer_id"].isin(contacts.index)
    by_email = o["email_norm"].map(contacts.attrs["email_to_contact"])
    guests = o["email_norm"].map(guest_id)
    o["customer"] = o["customer_id"].where(known, by_email.where(by_email.notna(), guests))
    is_guest = ~o["customer"].isin(contacts.index)
    internal_contacts = contacts.index[contacts["internal"]]
    internal = o["customer"].isin(internal_contacts) | (
        is_guest & email_domain(o["email_norm"]).isin(params.internal_email_domains)
    )
    o = o[~internal].copy()
    o["is_guest"] = ~o["customer"].isin(contacts.index)
    o["completed"] = o["status"] != "cancelled"

    rates = latest_copy(raw["shop_exchange_rates"], ["rate_date", "currency"])
    rates = rates.assign(rate_day=pd.to_datetime(rates["rate_date"]).astype("datetime64[us]"))
    o["rate"] = rate_on(o["currency"], o["day"], rates)

    r = latest_copy(raw["shop_refunds"], "refund_id")
    r = r[utc_day(r["created_at"]) <= as_of]
    r = r.merge(o.loc[o["completed"], ["order_id", "day"]], on="order_id")  # ignores cancelled/unknown orders
    r["amount_usd"] = r["amount"] * rate_on(r["currency"], r["day"], rates)
    refunds = r.groupby("order_id")["amount_usd"].sum()

    discounted = (o["subtotal"] - o["discount_total"].fillna(0.0)) * o["rate"]
    o["refunds_usd"] = o["order_id"].map(refunds).fillna(0.0)
    o["net_revenue"] = (discounted - o["refunds_usd"]).clip(lower=0.0)
    o["month_idx"] = month_index(o["day"])
    return o


def customer_table(contacts: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """Non-internal contacts and guests, with their acquisition channel and first known month."""
    first_order = orders.groupby("customer")["day"].min()  # any status
    people = contacts[~contacts["internal"]]
    crm_first_order = people.index.to_series().map(first_order)
    from_crm = pd.DataFrame(
        {
            "customer_id": people.index,
            "acquisition_channel": people["acquisition_channel"].to_numpy(),
            "first_known": pd.concat([people["created_day"], crm_first_order], axis=1).min(axis=1).to_numpy(),
        }
    )
    guest_first = orders[orders["is_guest"]].groupby("customer")["day"].min()
    guests = pd.DataFrame(
        {
            "customer_id": guest_first.index,
            "acquisition_channel": "unknown",
            "first_known": guest_first.to_numpy(),
        }
    )
    customers = pd.concat([from_crm, guests], ignore_index=True)
    customers["first_known"] = customers["first_known"].astype("datetime64[us]")
    customers["first_month_idx"] = month_index(customers["first_known"])
    return customers


def customer_months(
    customers: pd.DataFrame, orders: pd.DataFrame, as_of: pd.Timestamp, params: Params
) -> pd.DataFrame:
    """One row per customer and month from the first known month to the as_of month, with its stage."""
    as_of_idx = int(month_index(pd.Series([as_of])).iloc[0])
    span = as_of_idx - customers["first_month_idx"] + 1
    cm = customers.loc[customers.index.repeat(span)].reset_index(drop=True)
    cm["month_idx"] = cm["first_month_idx"] + cm.groupby("customer_id").cumcount()
    cm["month_start"] = month_start(cm["month_idx"])
    cm["month_end"] = (month_start(cm["month_idx"] + 1) - pd.Timedelta(days=1)).clip(upper=as_of)

    completed = orders[orders["completed"]]
    per_month = (
        completed.groupby(["customer", "month_idx"])
        .agg(orders=("order_id", "size"), net_revenue=("net_revenue", "sum"), last_day=("day", "max"))
        .reset_index()
        .rename(columns={"customer": "customer_id"})
    )
    cm = cm.merge(per_month, on=["customer_id", "month_idx"], how="left")
    cm = cm.sort_values(["customer_id", "month_idx"], ignore_index=True)
    cm["orders"] = cm["orders"].fillna(0).astype("int64")
    cm["net_revenue"] = cm["net_revenue"].fillna(0.0)
    # Orders never lie after as_of, so the latest completed day of months so far is the one <= month_end.
    cm["last_completed_day"] = cm.groupby("customer_id")["last_day"].ffill()
    cm["days_since_last_order"] = (cm["month_end"] - cm["last_completed_day"]).dt.days
    cm["first_completed_month_idx"] = cm["customer_id"].map(completed.groupby("customer")["month_idx"].min())

    d = cm["days_since_last_order"]
    base = pd.Series(
        np.select(
            [
                cm["last_completed_day"].isna(),
                cm["month_idx"] == cm["first_completed_month_idx"],
                d <= params.active_days,
                d <= params.churn_days,
            ],
            ["prospect", "new", "active", "at_risk"],
            "churned",
        ),
        index=cm.index,
    )
    # `reactivated` looks at last month's stage. A month can be `churned` only with d > churn_days, i.e.
    # without an order in it, where `reactivated` never applies: last month's stage before the
    # reactivated rule is therefore already final, and no month-by-month loop is needed.
    prev_base = base.groupby(cm["customer_id"]).shift()
    reactivated = (cm["orders"] > 0) & (prev_base == "churned") & (base != "new")
    cm["lifecycle_stage"] = base.where(~reactivated, "reactivated")
    cm["previous_stage"] = cm.groupby("customer_id")["lifecycle_stage"].shift()
    return cm


def retention_cohorts(cm: pd.DataFrame) -> pd.DataFrame:
    """Cohort x channel (+ `all`) x month offset, zero-activity offsets included."""
    buyers = cm[cm["first_completed_month_idx"].notna()].copy()
    buyers["cohort_idx"] = buyers["first_completed_month_idx"].astype("int64")
    buyers["month_offset"] = buyers["month_idx"] - buyers["cohort_idx"]
    buyers = buyers[buyers["month_offset"] >= 0]
    buyers["active"] = buyers["orders"] > 0
    keys = ["cohort_idx", "acquisition_channel", "month_offset"]
    both = pd.concat([buyers, buyers.assign(acquisition_channel="all")], ignore_index=True)
    t = (
        both.groupby(keys, dropna=False)
        .agg(
            cohort_size=("customer_id", "size"),
            active_customers=("active", "sum"),
            net_revenue=("net_revenue", "sum"),
        )
        .reset_index()
        .sort_values(keys, ignore_index=True)
    )
    t["active_customers"] = t["active_customers"].astype("int64")
    t["retention_rate"] = t["active_customers"] / t["cohort_size"]
    per_cohort = t.groupby(["cohort_idx", "acquisition_channel"], dropna=False)["net_revenue"]
    t["cumulative_revenue_per_customer"] = per_cohort.cumsum() / t["cohort_size"]
    first = per_cohort.transform("first")
    t["revenue_retention"] = (t["net_revenue"] / first).where(first != 0)
    t["cohort_month"] = month_start(t["cohort_idx"])
    return t


def customer_flows(cm: pd.DataFrame, customers: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per month and channel (+ `all`), every month from the first known one, zeros included."""
    stage, prev = cm["lifecycle_stage"], cm["previous_stage"]
    prev_live = prev.isin(LIVE_STAGES)
    flags = pd.DataFrame(
        {
            "month_idx": cm["month_idx"],
            "acquisition_channel": cm["acquisition_channel"],
            "customers_start": prev_live,
            "gained": stage == "new",
            "kept": prev_live & stage.isin(["active", "at_risk"]),
            "lost": (stage == "churned") & (prev != "churned"),
            "won_back": stage == "reactivated",
            "customers_end": stage.isin(LIVE_STAGES),
        }
    )
    both = pd.concat([flags, flags.assign(acquisition_channel="all")], ignore_index=True)
    counted = both.groupby(["month_idx", "acquisition_channel"], dropna=False).sum()
    as_of_idx = int(month_index(pd.Series([as_of])).iloc[0])
    channels = [*customers["acquisition_channel"].unique(), "all"]
    grid = pd.MultiIndex.from_product(
        [range(int(customers["first_month_idx"].min()), as_of_idx + 1), channels],
        names=["month_idx", "acquisition_channel"],
    )
    f = counted.reindex(grid, fill_value=0).astype("int64").reset_index()
    f["net_change"] = f["gained"] + f["won_back"] - f["lost"]
    f["acquisition_retention_ratio"] = (f["gained"] / f["lost"]).where(f["lost"] > 0)
    f["month_start"] = month_start(f["month_idx"])
    return f


def equity_cash_and_customers(cm: pd.DataFrame) -> pd.DataFrame:
    """Per month and channel (+ `all`): customers with a completed order by the month end, and cash flow
    (net revenue of completed orders placed in the month): the equity-mart columns not from the CLV fit."""
    rows = cm.assign(has_bought=cm["first_completed_month_idx"] <= cm["month_idx"])
    both = pd.concat([rows, rows.assign(acquisition_channel="all")], ignore_index=True)
    t = (
        both.groupby(["month_idx", "acquisition_channel"], dropna=False)
        .agg(customers=("has_bought", "sum"), cash_flow=("net_revenue", "sum"))
        .reset_index()
    )
    t["customers"] = t["customers"].astype("int64")
    t["month"] = month_start(t["month_idx"])
    return t


def build(raw: dict[str, pd.DataFrame], params: Params | None = None) -> Model:
    params = params or Params()
    as_of = params.as_of_date if params.as_of_date is not None else latest_event_date(raw)
    contacts = resolve_contacts(raw["crm_contacts"], as_of, params)
    orders = resolve_orders(raw, contacts, as_of, params)
    customers = customer_table(contacts, orders)
    cm = customer_months(customers, orders, as_of, params)
    return Model(as_of, orders, customers, cm, retention_cohorts(cm), customer_flows(cm, customers, as_of))


# ------------------------------------------------------------------ comparing with a mart


def frame_differences(
    expected: pd.DataFrame,
    actual: pd.DataFrame,
    keys: list[str],
    exact: list[str] = (),
    approx: list[str] = (),
    rtol: float = 1e-6,
    show: int = 8,
) -> list[str]:
    """Readable differences between two tables on `keys`: missing rows, extra rows, differing values."""
    cols = [*keys, *exact, *approx]
    e, a = expected[cols].copy(), actual[cols].copy()
    for frame in (e, a):
        for k in keys:
            if k in DATE_COLUMNS:
                frame[k] = pd.to_datetime(frame[k]).astype("datetime64[us]")
    m = e.merge(a, on=keys, how="outer", suffixes=("_expected", "_actual"), indicator=True)
    problems = []
    for side, label in (("left_only", "missing from the mart"), ("right_only", "not expected, in the mart")):
        rows = m.loc[m["_merge"] == side, keys]
        if len(rows):
            problems.append(f"{len(rows)} rows {label}, e.g.\n{rows.head(show).to_string(index=False)}")
    both = m[m["_merge"] == "both"]
    for col in [*exact, *approx]:
        ev, av = both[f"{col}_expected"], both[f"{col}_actual"]
        if col in exact:
            same = (ev.astype(object) == av.astype(object)) | (ev.isna() & av.isna())
        else:
            evf, avf = ev.astype(float).to_numpy(), av.astype(float).to_numpy()
            same = pd.Series(np.isclose(evf, avf, rtol=rtol, atol=1e-9, equal_nan=True), index=both.index)
        bad = both.loc[~same, [*keys, f"{col}_expected", f"{col}_actual"]]
        if len(bad):
            problems.append(
                f"{col}: {len(bad)} of {len(both)} rows differ, e.g.\n{bad.head(show).to_string(index=False)}"
            )
    return problems
