"""CRM export: contact versions (the SCD2 history), leads and activities."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.lib.raw_schema import CHANNELS, RAW_TABLES_BY_NAME
from seeds.config import CHANNEL_PARAMS, GeneratorConfig
from seeds.dirty import email_variants, utc_offsets
from seeds.landing import Periods, write_family
from seeds.population import (
    ACCOUNT_MANAGERS,
    COUNTRIES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    SEGMENTS,
    Population,
    contact_emails,
)
from seeds.text import booleans, choose, csv_lines, ids, take, timestamps, where

CHANGE_RATE_PER_YEAR = 0.35  # CRM edits per contact per year
# segment upgrade, account manager reassigned, email changed, opted out of marketing, phone changed
CHANGE_SHARES = np.array([0.20, 0.30, 0.15, 0.15, 0.20])
UNASSIGN_SHARE = 0.10  # of manager reassignments: the contact is left without a manager
CALLING_CODES = {
    "US": "1",
    "CA": "1",
    "GB": "44",
    "IE": "353",
    "DE": "49",
    "FR": "33",
    "NL": "31",
    "ES": "34",
}
LEADS_CONVERTED_PER_CONTACT = 0.35  # contacts that started as a lead
LEADS_OPEN_PER_CONTACT = 0.40  # leads that never convert
LEAD_DISQUALIFIED_SHARE = 0.40  # of the leads that never convert
ACTIVITY_RATE_PER_YEAR = 2.0
ACTIVITY_TYPES = ("email", "call", "meeting", "campaign_touch")
ACTIVITY_SHARES_WITH_MANAGER = np.array([0.30, 0.30, 0.15, 0.25])
ACTIVITY_SHARES_NO_MANAGER = np.array([0.50, 0.0, 0.0, 0.50])
CAMPAIGNS_BY_QUARTER = ("winter_sale", "spring_launch", "summer_sale", "black_friday")


@dataclass
class ContactVersions:
    """One row per saved version of a contact, sorted by contact then time."""

    who: np.ndarray
    at_d: np.ndarray  # days since start
    segment: np.ndarray
    manager: np.ndarray
    email_version: np.ndarray
    opt_in: np.ndarray
    phone_version: np.ndarray
    # email-change events, for "which email did this contact have at time t"
    email_change_key: np.ndarray

    def email_version_at(self, who: np.ndarray, at_d: np.ndarray, span: float) -> np.ndarray:
        key = np.asarray(who, dtype=np.float64) * span + np.asarray(at_d, dtype=np.float64)
        first = np.searchsorted(self.email_change_key, np.asarray(who, dtype=np.float64) * span)
        return np.searchsorted(self.email_change_key, key, side="right") - first


def group_cumsum(values: np.ndarray, group_start: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Running sum of `values` restarting at each group (rows sorted by group)."""
    cs = np.cumsum(values, dtype=np.int64)
    base = (cs - values)[group_start]
    return cs - np.repeat(base, counts)


def build_contact_versions(config: GeneratorConfig, pop: Population) -> ContactVersions:
    rng = config.rng("crm_history")
    years = (config.days - pop.created_d) / 365.25
    changes = rng.poisson(CHANGE_RATE_PER_YEAR * years)
    who_ev = np.repeat(np.arange(pop.n), changes)
    t_ev = pop.created_d[who_ev] + rng.random(len(who_ev)) * (config.days - pop.created_d[who_ev])
    kind_ev = rng.choice(len(CHANGE_SHARES), size=len(who_ev), p=CHANGE_SHARES)

    who = np.concatenate([np.arange(pop.n), who_ev])
    at_d = np.concatenate([pop.created_d, t_ev])
    kind = np.concatenate([np.full(pop.n, -1), kind_ev])
    order = np.lexsort((kind, at_d, who))
    who, at_d, kind = who[order], at_d[order], kind[order]
    counts = np.bincount(who, minlength=pop.n)
    group_start = np.concatenate([[0], np.cumsum(counts)[:-1]])

    segment = np.minimum(pop.segment0[who] + group_cumsum(kind == 0, group_start, counts), 2).astype(np.int8)
    new_manager = np.where(
        rng.random(len(who)) < UNASSIGN_SHARE, -1, rng.integers(0, len(ACCOUNT_MANAGERS), len(who))
    )
    manager_value = np.where(kind == -1, pop.manager0[who], new_manager)
    sets_manager = (kind == -1) | (kind == 1)
    last_set = np.maximum.accumulate(np.where(sets_manager, np.arange(len(who)), 0))
    manager = manager_value[last_set].astype(np.int16)
    email_version = group_cumsum(kind == 2, group_start, counts)
    opt_in = pop.opt_in0[who] & (group_cumsum(kind == 3, group_start, counts) == 0)
    phone_version = group_cumsum(kind == 4, group_start, counts)
    span = config.days + 1.0
    email_change_key = np.sort(who[kind == 2] * span + at_d[kind == 2])
    return ContactVersions(
        who, at_d, segment, manager, email_version, opt_in, phone_version, email_change_key
    )


def phone_numbers(pop: Population, who: np.ndarray, version: np.ndarray, seed: int) -> pa.Array:
    number = (who.astype(np.int64) * 7919 + version * 104729 + seed * 31) % 9_000_000 + 1_000_000
    return pc.binary_join_element_wise(
        "+",
        choose([CALLING_CODES[c[0]] for c in COUNTRIES], pop.country[who]),
        " 555 ",
        pc.cast(pa.array(number), pa.string()),
        "",
    )


def write_contacts(
    config: GeneratorConfig, pop: Population, v: ContactVersions, landing: Path, periods: Periods
):
    rng = config.rng("crm_contacts_export")
    n = len(v.who)
    offsets = utc_offsets(rng, n, config.dirty.non_utc_offset)
    emails = email_variants(rng, contact_emails(pop, v.who, v.email_version), config.dirty.email_variant)
    updated_s = config.start_epoch + np.floor(v.at_d * 86400).astype(np.int64)
    names = [c.name for c in RAW_TABLES_BY_NAME["crm_contacts"].columns]
    managers = ACCOUNT_MANAGERS + ("",)  # index -1 (unassigned) -> ""
    first_names, last_names = [n.capitalize() for n in FIRST_NAMES], [n.capitalize() for n in LAST_NAMES]

    def lines(idx: np.ndarray, period_start: int) -> pa.Array:
        who = v.who[idx]
        cols = {
            "contact_id": take(pop.contact_id, who),
            "email": take(emails, idx),
            "first_name": choose(first_names, pop.first_name[who]),
            "last_name": choose(last_names, pop.last_name[who]),
            "phone": phone_numbers(pop, who, v.phone_version[idx], config.seed),
            "country": choose([c[0] for c in COUNTRIES], pop.country[who]),
            "segment": choose(SEGMENTS, v.segment[idx]),
            "acquisition_channel": choose(CHANNELS, pop.channel[who]),
            "account_manager": choose(
                managers, np.where(v.manager[idx] < 0, len(ACCOUNT_MANAGERS), v.manager[idx])
            ),
            "marketing_opt_in": booleans(v.opt_in[idx]),
            "is_internal": booleans(pop.internal_flag[who]),
            "created_at": timestamps(pop.created_s[who], offsets[idx]),
            "updated_at": timestamps(updated_s[idx], offsets[idx]),
        }
        return csv_lines([cols[c] for c in header_columns(period_start)])

    def header_columns(period_start: int) -> list[str]:
        return [c for c in names if c != "phone" or period_start >= config.phone_from_epoch]

    return write_family(
        landing, "crm", "contacts", "csv", updated_s, lines,
        lambda ps: ",".join(header_columns(ps)), periods, config.compress,
    )  # fmt: skip


def write_leads(config: GeneratorConfig, pop: Population, landing: Path, periods: Periods) -> list[Path]:
    """Leads: some become contacts (exported again as converted), the rest stay open or are dropped."""
    rng = config.rng("crm_leads")
    candidates = np.flatnonzero(~pop.internal)
    n_conv = int(round(LEADS_CONVERTED_PER_CONTACT * len(candidates)))
    converted_who = np.sort(rng.choice(candidates, size=n_conv, replace=False))
    conv_created = np.maximum(pop.created_d[converted_who] - rng.uniform(1, 90, n_conv), 0.0)
    n_other = int(round(LEADS_OPEN_PER_CONTACT * pop.n))
    other_created = rng.random(n_other) * config.days
    disqualified = rng.random(n_other) < LEAD_DISQUALIFIED_SHARE
    disq_at = other_created + rng.uniform(5, 60, n_other)
    disqualified &= disq_at < config.days

    created = np.concatenate([conv_created, other_created])
    order = np.argsort(created, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    lead_id = ids("L", rank + 1, 8)  # ids follow creation order
    shares = np.array([CHANNEL_PARAMS[c].share for c in CHANNELS])
    other_channel = rng.choice(len(CHANNELS), size=n_other, p=shares / shares.sum())
    channel = np.concatenate([pop.channel[converted_who], other_channel])
    other_email = pc.binary_join_element_wise(
        "lead.", pc.cast(pa.array(np.arange(n_other) + 1), pa.string()), "@",
        choose(EMAIL_DOMAINS, rng.integers(0, len(EMAIL_DOMAINS), n_other)), "",
    )  # fmt: skip
    email = pa.concat_arrays(
        [contact_emails(pop, converted_who, np.zeros(n_conv, dtype=np.int64)), other_email]
    )
    email = email_variants(rng, email, config.dirty.email_variant)
    n = n_conv + n_other
    offsets = utc_offsets(rng, n, config.dirty.non_utc_offset)
    created_s = config.start_epoch + np.floor(created * 86400).astype(np.int64)

    # export rows: every lead when created (open); converted/disqualified leads again when that happened
    lead = np.concatenate([np.arange(n), np.arange(n_conv), n_conv + np.flatnonzero(disqualified)])
    status = np.concatenate([np.zeros(n), np.ones(n_conv), np.full(int(disqualified.sum()), 2)]).astype(int)
    export_d = np.concatenate([created, pop.created_d[converted_who], disq_at[disqualified]])
    export_s = config.start_epoch + np.floor(export_d * 86400).astype(np.int64)
    converted_contact = np.full(n, -1)
    converted_contact[:n_conv] = converted_who
    status_names = np.array(["open", "converted", "disqualified"])

    def lines(idx: np.ndarray, period_start: int) -> pa.Array:
        who = lead[idx]
        conv = np.where(status[idx] == 1, converted_contact[who], -1)
        return csv_lines([
            take(lead_id, who),
            take(email, who),
            choose(CHANNELS, channel[who]),
            pa.array(status_names[status[idx]]),
            where(conv >= 0, take(pop.contact_id, np.maximum(conv, 0))),
            timestamps(created_s[who], offsets[who]),
        ])  # fmt: skip

    header = ",".join(c.name for c in RAW_TABLES_BY_NAME["crm_leads"].columns)
    return write_family(
        landing, "crm", "leads", "csv", export_s, lines, lambda _: header, periods, config.compress
    )


def write_activities(config: GeneratorConfig, pop: Population, landing: Path, periods: Periods) -> list[Path]:
    rng = config.rng("crm_activities")
    years = (config.days - pop.created_d) / 365.25
    counts = rng.poisson(ACTIVITY_RATE_PER_YEAR * years)
    who = np.repeat(np.arange(pop.n), counts)
    at_d = pop.created_d[who] + rng.random(len(who)) * (config.days - pop.created_d[who])
    order = np.argsort(at_d, kind="stable")
    who, at_d = who[order], at_d[order]
    with_manager = pop.manager0[who] >= 0
    u = rng.random(len(who))
    kind = np.where(
        with_manager,
        np.searchsorted(np.cumsum(ACTIVITY_SHARES_WITH_MANAGER), u, side="right"),
        np.searchsorted(np.cumsum(ACTIVITY_SHARES_NO_MANAGER), u, side="right"),
    ).clip(0, 3)
    at_s = config.start_epoch + np.floor(at_d * 86400).astype(np.int64)
    offsets = utc_offsets(rng, len(who), config.dirty.non_utc_offset)
    activity_id = ids("A", np.arange(1, len(who) + 1), 9)
    quarter = (at_s.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12) // 3
    year = at_s.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970

    def lines(idx: np.ndarray, period_start: int) -> pa.Array:
        campaign = pc.binary_join_element_wise(
            choose(CAMPAIGNS_BY_QUARTER, quarter[idx]),
            pc.cast(pa.array(year[idx]), pa.string()),
            "_",
        )
        is_campaign = pa.array(kind[idx] == 3)
        return csv_lines([
            take(activity_id, idx),
            take(pop.contact_id, who[idx]),
            choose(ACTIVITY_TYPES, kind[idx]),
            pc.if_else(is_campaign, campaign, pa.scalar(None, pa.string())),
            timestamps(at_s[idx], offsets[idx]),
        ])  # fmt: skip

    header = ",".join(c.name for c in RAW_TABLES_BY_NAME["crm_activities"].columns)
    return write_family(
        landing, "crm", "activities", "csv", at_s, lines, lambda _: header, periods, config.compress
    )
