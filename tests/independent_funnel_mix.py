"""Plain-pandas recomputation of mart_lifecycle_funnel and mart_retention_mix from the raw layer.

Written from dbt_project/DECISIONS.md (Lifecycle funnel, Retention mix) and DOMAIN.md, never from the dbt
SQL. It builds on tests/independent_model.py (identity, orders, customer months), itself independent of the
SQL, and adds leads, contact versions, CRM activities and tickets read from raw. For small data: whole tables
in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from independent_model import (
    LIVE_STAGES,
    Model,
    Params,
    email_domain,
    guest_id,
    latest_copy,
    normalised_email,
    resolve_contacts,
    utc_day,
)

LEVERS = ("account_manager", "loyalty_promo", "campaign_touch", "post_purchase_ticket_solved_within_target")
SLA_RESOLUTION_HOURS = {"urgent": 8, "high": 24, "normal": 72, "low": 120}  # var sla_resolution_hours


@dataclass(frozen=True)
class MixParams:
    """The dbt vars of the two marts, at their documented defaults."""

    mix_exposure_days: int = 90
    repurchase_window_days: int = 180
    post_purchase_window_days: int = 30


def read_raw_crm_and_support(duckdb_path: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return {t: con.sql(f"select * from raw.{t}").df() for t in ("crm_leads", "support_tickets")}


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.days.astype("float64")


# ------------------------------------------------------------------ funnel


def purchase_days(model: Model) -> pd.DataFrame:
    """customer, first and second purchase day (UTC dates with a completed order)."""
    days = model.orders.loc[model.orders["completed"], ["customer", "day"]].drop_duplicates()
    days = days.sort_values(["customer", "day"])
    days["n"] = days.groupby("customer").cumcount()
    first = days[days["n"] == 0].set_index("customer")["day"]
    second = days[days["n"] == 1].set_index("customer")["day"]
    return pd.DataFrame({"first_purchase": first, "second_purchase": second})


def first_referrals(model: Model) -> pd.Series:
    """Referrer customer -> date of the first completed order by another customer carrying REF-<referrer>."""
    o = model.orders[
        model.orders["completed"] & model.orders["referral_code"].fillna("").str.startswith("REF-")
    ]
    referrer = o["referral_code"].str[len("REF-") :]
    o = o.assign(referrer=referrer)[referrer != o["customer"]]
    return o.groupby("referrer")["day"].min()


def funnel(model: Model, raw: dict[str, pd.DataFrame], params: Params | None = None) -> pd.DataFrame:
    as_of, params = model.as_of_date, params or Params()
    contacts = resolve_contacts(raw["crm_contacts"], as_of, params)
    customers = model.customers.set_index("customer_id")

    leads = latest_copy(raw["crm_leads"], "lead_id")
    leads = leads.assign(
        lead_day=utc_day(leads["created_at"]), ts=pd.to_datetime(leads["created_at"], utc=True)
    )
    leads = leads[leads["lead_day"] <= as_of].copy()
    known = leads["converted_contact_id"].isin(contacts.index)
    leads["contact"] = leads["converted_contact_id"].where(known)
    leads["contact_day"] = leads["contact"].map(contacts["created_day"])
    internal_domain = email_domain(normalised_email(leads["email"].fillna(""))).isin(
        params.internal_email_domains
    )
    leads["internal"] = np.where(
        known, leads["contact"].map(contacts["internal"]).fillna(False), internal_domain
    )
    leads = leads[~leads["internal"].astype(bool)]
    leads["channel"] = leads["source_channel"].fillna("unknown")
    origin = leads[leads["contact"].notna() & (leads["lead_day"] <= leads["contact_day"])]
    origin = origin.sort_values(["ts", "lead_id"]).drop_duplicates("contact")
    leads["customer"] = leads["lead_id"].map(origin.set_index("lead_id")["contact"])

    lead_rows = pd.DataFrame(
        {
            "entry_point": "lead",
            "entry_day": leads["lead_day"],
            "channel": leads["channel"],
            "lead_day": leads["lead_day"],
            "customer": leads["customer"],
            "contact_day": leads["contact_day"].where(leads["customer"].notna()),
        }
    )
    crm_people = customers[customers.index.isin(contacts.index) & ~customers.index.isin(origin["contact"])]
    contact_rows = pd.DataFrame(
        {
            "entry_point": "contact",
            "entry_day": crm_people.index.map(contacts["created_day"]),
            "channel": crm_people["acquisition_channel"].fillna("unknown").to_numpy(),
            "lead_day": pd.NaT,
            "customer": crm_people.index,
            "contact_day": crm_people.index.map(contacts["created_day"]),
        }
    )
    buys = purchase_days(model)
    guests = customers[~customers.index.isin(contacts.index) & customers.index.isin(buys.index)]
    guest_rows = pd.DataFrame(
        {
            "entry_point": "guest",
            "entry_day": guests.index.map(buys["first_purchase"]),
            "channel": "unknown",
            "lead_day": pd.NaT,
            "customer": guests.index,
            "contact_day": pd.NaT,
        }
    )
    people = pd.concat([lead_rows, contact_rows, guest_rows], ignore_index=True)
    for col in ("entry_day", "lead_day", "contact_day"):
        people[col] = pd.to_datetime(people[col]).astype("datetime64[us]")

    first = people["customer"].map(buys["first_purchase"])
    second = people["customer"].map(buys["second_purchase"])
    referral = people["customer"].map(first_referrals(model))
    # Each step: its own date, never before the previous step; only after the previous step was reached.
    contact = people["contact_day"].where(people["entry_point"] != "guest")
    purchase = pd.Series(
        np.where(people["entry_point"] == "guest", first, np.maximum(first, contact)), index=people.index
    )
    purchase = pd.to_datetime(purchase).where(
        first.notna() & (contact.notna() | (people["entry_point"] == "guest"))
    )
    repeat = pd.to_datetime(pd.Series(np.maximum(second, purchase), index=people.index)).where(
        second.notna() & purchase.notna()
    )
    advocate = pd.to_datetime(pd.Series(np.maximum(referral, repeat), index=people.index)).where(
        referral.notna() & repeat.notna()
    )
    people = people.assign(
        cohort_month=people["entry_day"].dt.to_period("M").dt.start_time.astype("datetime64[us]"),
        has_contact=contact.notna(),
        has_purchase=purchase.notna(),
        has_repeat=repeat.notna(),
        has_advocate=advocate.notna(),
        d_lead_contact=_days(contact, people["lead_day"]),
        d_contact_purchase=_days(purchase, contact),
        d_purchase_repeat=_days(repeat, purchase),
        d_repeat_advocate=_days(advocate, repeat),
    )
    both = pd.concat([people, people.assign(channel="all")], ignore_index=True)
    f = (
        both.groupby(["cohort_month", "channel", "entry_point"])
        .agg(
            entrants=("entry_point", "size"),
            contacts=("has_contact", "sum"),
            purchasers=("has_purchase", "sum"),
            repeat_purchasers=("has_repeat", "sum"),
            advocates=("has_advocate", "sum"),
            median_days_lead_to_contact=("d_lead_contact", "median"),
            median_days_contact_to_purchase=("d_contact_purchase", "median"),
            median_days_purchase_to_repeat=("d_purchase_repeat", "median"),
            median_days_repeat_to_advocate=("d_repeat_advocate", "median"),
        )
        .reset_index()
        .rename(columns={"channel": "acquisition_channel"})
    )
    f["funnel_start"] = f["entry_point"].map({"lead": "awareness", "contact": "contact", "guest": "purchase"})
    f["leads"] = f["entrants"].where(f["entry_point"] == "lead")
    f["contacts"] = f["contacts"].where(f["entry_point"] != "guest")
    f["lead_to_contact_rate"] = f["contacts"] / f["leads"].replace(0, np.nan)
    f["contact_to_purchase_rate"] = f["purchasers"] / f["contacts"].replace(0, np.nan)
    f["purchase_to_repeat_rate"] = f["repeat_purchasers"] / f["purchasers"].replace(0, np.nan)
    f["repeat_to_advocate_rate"] = f["advocates"] / f["repeat_purchasers"].replace(0, np.nan)
    return f


# ------------------------------------------------------------------ retention mix


def _exposed_in_window(pop: pd.DataFrame, events: pd.DataFrame, days: int) -> pd.Series:
    """Per population row: an event (customer, day) in the `days` days before month_start."""
    last = pd.merge_asof(
        pop[["customer_id", "month_start"]].reset_index().sort_values("month_start"),
        events.rename(columns={"customer": "customer_id"}).sort_values("day"),
        left_on="month_start",
        right_on="day",
        by="customer_id",
        direction="backward",
        allow_exact_matches=False,
    ).set_index("index")["day"]
    return ((pop["month_start"] - last.reindex(pop.index)).dt.days <= days).fillna(False)


def resolved_tickets(model: Model, raw: dict[str, pd.DataFrame], contacts: pd.DataFrame, mix: MixParams):
    """Post-purchase tickets created by as_of of known, non-internal customers: customer, day, in_target."""
    as_of = model.as_of_date
    t = (
        raw["support_tickets"]
        .sort_values(["updated_at", "_file", "_line"])
        .drop_duplicates("ticket_id", keep="last")
    )
    t = t.assign(day=utc_day(t["created_at"]))
    t = t[t["day"] <= as_of].copy()
    source = t["customer_id"].fillna("").str.strip()
    email = normalised_email(t["requester_email"].fillna(""))
    by_email = email.map(contacts.attrs["email_to_contact"])
    guest = email.map(guest_id)
    guests = set(model.customers["customer_id"]) - set(contacts.index)
    t["customer"] = source.where(
        source.isin(contacts.index), by_email.where(by_email.notna(), guest.where(guest.isin(guests)))
    )
    t = t[t["customer"].isin(model.customers["customer_id"])]  # unknown requesters and internal customers out
    completed = model.orders.loc[model.orders["completed"], ["customer", "day"]].drop_duplicates()
    last = pd.merge_asof(
        t[["ticket_id", "customer", "day"]].sort_values("day"),
        completed.rename(columns={"day": "order_day"}).sort_values("order_day"),
        left_on="day",
        right_on="order_day",
        by="customer",
        direction="backward",
    ).set_index("ticket_id")["order_day"]
    since_order = (t["day"] - t["ticket_id"].map(last)).dt.days
    t["post_purchase"] = (t["order_id"].fillna("").str.strip() != "") | (
        since_order <= mix.post_purchase_window_days
    )
    created, solved = pd.to_datetime(t["created_at"], utc=True), pd.to_datetime(t["solved_at"], utc=True)
    hours = (solved - created).dt.total_seconds() / 3600
    solved_by_as_of = solved.notna() & (utc_day(t["solved_at"]) <= as_of)
    t["in_target"] = solved_by_as_of & (hours <= t["priority"].map(SLA_RESOLUTION_HOURS))
    return t[t["post_purchase"]][["customer", "day", "in_target"]]


def retention_mix(
    model: Model, raw: dict[str, pd.DataFrame], mix: MixParams | None = None, params: Params | None = None
):
    as_of, params, mix = model.as_of_date, params or Params(), mix or MixParams()
    contacts = resolve_contacts(raw["crm_contacts"], as_of, params)
    cm = model.customer_months
    pop = cm[cm["previous_stage"].isin(LIVE_STAGES)].copy()

    # Outcomes: the first purchase day on or after the month start, and the stage at the month's end.
    days = model.orders.loc[model.orders["completed"], ["customer", "day"]].drop_duplicates()
    nxt = pd.merge_asof(
        pop[["customer_id", "month_start"]].reset_index().sort_values("month_start"),
        days.rename(columns={"customer": "customer_id"}).sort_values("day"),
        left_on="month_start",
        right_on="day",
        by="customer_id",
        direction="forward",
    ).set_index("index")["day"]
    pop["repurchased"] = (
        (nxt.reindex(pop.index) - pop["month_start"]).dt.days < mix.repurchase_window_days
    ).fillna(False)
    pop["churned"] = pop["lifecycle_stage"] == "churned"

    # Account manager on the contact version saved last before the month start (versions known by as_of).
    v = raw["crm_contacts"].assign(ts=pd.to_datetime(raw["crm_contacts"]["updated_at"], utc=True))
    v = v[utc_day(v["updated_at"]) <= as_of]
    v = v.sort_values(["ts", "_file", "_line"]).drop_duplicates(["contact_id", "ts"], keep="last")
    v["has_manager"] = v["account_manager"].fillna("").str.strip() != ""
    v["ts"] = v["ts"].dt.tz_localize(None).astype("datetime64[us]")
    at_start = pd.merge_asof(
        pop[["customer_id", "month_start"]].reset_index().sort_values("month_start"),
        v[["contact_id", "ts", "has_manager"]]
        .rename(columns={"contact_id": "customer_id"})
        .sort_values("ts"),
        left_on="month_start",
        right_on="ts",
        by="customer_id",
        direction="backward",
        allow_exact_matches=False,
    ).set_index("index")["has_manager"]
    pop["account_manager"] = at_start.reindex(pop.index).fillna(False).astype(bool)

    loyal = model.orders[
        model.orders["completed"] & model.orders["promo_code"].fillna("").str.startswith("LOYAL")
    ]
    pop["loyalty_promo"] = _exposed_in_window(
        pop, loyal[["customer", "day"]].drop_duplicates(), mix.mix_exposure_days
    )

    a = latest_copy(raw["crm_activities"], "activity_id")
    a = a.assign(day=utc_day(a["occurred_at"]))
    a = a[a["day"] <= as_of]
    touches = a.loc[a["activity_type"] == "campaign_touch", ["contact_id", "day"]]
    touches = touches.rename(columns={"contact_id": "customer"})
    pop["campaign_touch"] = _exposed_in_window(pop, touches.drop_duplicates(), mix.mix_exposure_days)

    # Post-purchase: only customers with a post-purchase ticket in the window; exposed when all in target.
    tickets = resolved_tickets(model, raw, contacts, mix)
    pairs = (
        pop[["customer_id", "month_start"]]
        .reset_index()
        .merge(tickets.rename(columns={"customer": "customer_id"}), on="customer_id")
    )
    pairs = pairs[
        (pairs["day"] < pairs["month_start"])
        & ((pairs["month_start"] - pairs["day"]).dt.days <= mix.mix_exposure_days)
    ]
    all_in_target = pairs.groupby("index")["in_target"].all()
    pop["post_purchase_ticket_solved_within_target"] = all_in_target.reindex(pop.index)

    sources = {
        "account_manager": len(v[~v["contact_id"].isin(contacts.index[contacts["internal"]])]),
        "loyalty_promo": int(model.orders["completed"].sum()),
        "campaign_touch": len(a),
        "post_purchase_ticket_solved_within_target": len(tickets),
    }
    rows = []
    months = sorted(pop["month_start"].unique())
    for lever in LEVERS:
        if sources[lever] == 0:
            continue
        flag = pop[lever]
        for month in months:
            in_month = pop["month_start"] == month
            for exposed in (True, False):
                g = pop[in_month & flag.notna() & (flag == exposed)]
                rows.append(
                    {
                        "month_start": pd.Timestamp(month),
                        "lever": lever,
                        "is_exposed": exposed,
                        "customers": len(g),
                        "repurchased": int(g["repurchased"].sum()),
                        "churned_customers": int(g["churned"].sum()),
                    }
                )
    out = pd.DataFrame(rows)
    window_end = out["month_start"] + pd.to_timedelta(mix.repurchase_window_days - 1, unit="D")
    out["is_window_observed"] = window_end <= as_of
    out["repurchased_customers"] = out["repurchased"].where(out["is_window_observed"])
    size = out["customers"].replace(0, np.nan)
    out["repurchase_rate"] = (out["repurchased"] / size).where(out["is_window_observed"])
    out["churn_rate"] = out["churned_customers"] / size
    return out
