"""Help-desk export: tickets (re-exported at each status change), CSAT after solved tickets, NPS surveys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.lib.raw_schema import RAW_TABLES_BY_NAME
from seeds.config import GeneratorConfig
from seeds.crm import ContactVersions
from seeds.dirty import email_variants, malformed_dates, utc_offsets
from seeds.landing import Periods, write_family
from seeds.orders import Orders
from seeds.population import EMAIL_DOMAINS, Population, contact_emails
from seeds.purchases import PRIORITIES, CustomerOutcome, Problems, draw_problem
from seeds.text import choose, csv_lines, ids, integers, take, timestamps

TICKET_CHANNELS = ("email", "chat", "phone", "web")
TICKET_CHANNEL_SHARES = np.array([0.40, 0.30, 0.10, 0.20])
CATEGORIES = ("delivery", "billing", "product", "account", "other")
PROBLEM_CATEGORY_SHARES = np.array([0.45, 0.20, 0.35, 0.0, 0.0])  # tickets about an order
GENERAL_CATEGORY_SHARES = np.array([0.0, 0.30, 0.0, 0.40, 0.30])  # tickets about nothing in particular
GENERAL_TICKET_RATE_PER_YEAR = 0.20  # per contact
PROBLEM_TICKET_DELAY_DAYS = (0.2, 7.0)  # after the purchase
LINKED_TO_CUSTOMER = 0.85  # share of tickets where the agent set customer_id
CLOSE_AFTER_SOLVED_H = 96.0
CSAT_RESPONSE_RATE = 0.40
CSAT_GOOD_BY_SPEED = ((24.0, 0.92), (72.0, 0.75), (1e9, 0.35))  # resolution hours <= x -> P(good)
NPS_SURVEY_MONTH_DAYS = ((1, 15), (7, 15))  # surveys go out on these dates every year
NPS_RESPONSE_BUYER, NPS_RESPONSE_PROSPECT = 0.15, 0.05
NPS_MEAN_ALIVE, NPS_MEAN_LEFT, NPS_MEAN_PROSPECT = 8.2, 6.3, 7.0
NPS_BAD_PROBLEM_SHIFT, NPS_GOOD_PROBLEM_SHIFT = -3.5, 0.5  # problem in the 182 days before the survey
NPS_NOISE_SD = 1.8
NPS_WITH_CUSTOMER_ID = 0.90


@dataclass
class Tickets:
    who: np.ndarray  # contact index; -1 unknown requester
    order: np.ndarray  # order index, -1 none
    created_s: np.ndarray
    priority: np.ndarray
    category: np.ndarray
    channel: np.ndarray
    first_response_s: np.ndarray  # -1 never
    solved_s: np.ndarray  # -1 never
    resolution_h: np.ndarray  # inf never
    email: pa.Array
    linked: np.ndarray  # customer_id set


def build_tickets(
    config: GeneratorConfig,
    pop: Population,
    versions: ContactVersions,
    orders: Orders,
    problems: Problems,
    purchase_who: np.ndarray,
    purchase_at_d: np.ndarray,
) -> Tickets:
    rng = config.rng("tickets")
    exp = config.experience
    # 1. post-purchase problems, on the order of that purchase
    purchase_to_order = np.full(len(purchase_who), -1)
    real = orders.purchase >= 0
    purchase_to_order[orders.purchase[real]] = np.flatnonzero(real)
    p_who = purchase_who[problems.purchase]
    p_at = purchase_at_d[problems.purchase] + rng.uniform(*PROBLEM_TICKET_DELAY_DAYS, len(p_who))
    p_cat = rng.choice(len(CATEGORIES), size=len(p_who), p=PROBLEM_CATEGORY_SHARES)
    # 2. general tickets from contacts
    years = (config.days - pop.created_d) / 365.25
    g_who = np.repeat(np.arange(pop.n), rng.poisson(GENERAL_TICKET_RATE_PER_YEAR * years))
    g_at = pop.created_d[g_who] + rng.random(len(g_who)) * (config.days - pop.created_d[g_who])
    g_priority, g_frh, g_rh = draw_problem(rng, len(g_who), exp.never_solved)
    g_cat = rng.choice(len(CATEGORIES), size=len(g_who), p=GENERAL_CATEGORY_SHARES)
    # 3. requesters matching nobody
    n_known = len(p_who) + len(g_who)
    n_unknown = rng.binomial(n_known, config.dirty.unknown_requester_ticket)
    u_at = rng.random(n_unknown) * config.days
    u_priority, u_frh, u_rh = draw_problem(rng, n_unknown, exp.never_solved)
    u_cat = rng.choice(len(CATEGORIES), size=n_unknown, p=GENERAL_CATEGORY_SHARES)

    who = np.concatenate([p_who, g_who, np.full(n_unknown, -1)])
    order_idx = np.concatenate([purchase_to_order[problems.purchase], np.full(len(g_who) + n_unknown, -1)])
    at_d = np.concatenate([p_at, g_at, u_at])
    priority = np.concatenate([problems.priority, g_priority, u_priority])
    frh = np.concatenate([problems.first_response_h, g_frh, u_frh])
    rh = np.concatenate([problems.resolution_h, g_rh, u_rh])
    category = np.concatenate([p_cat, g_cat, u_cat])
    sort = np.argsort(at_d, kind="stable")
    who, order_idx, at_d, priority, frh, rh, category = (
        x[sort] for x in (who, order_idx, at_d, priority, frh, rh, category)
    )
    n = len(who)
    created_s = config.start_epoch + np.floor(at_d * 86400).astype(np.int64)
    first_response_s = created_s + np.round(frh * 3600).astype(np.int64)
    solved_s = np.where(np.isfinite(rh), created_s + np.round(np.where(np.isfinite(rh), rh, 0) * 3600), -1)

    known = np.flatnonzero(who >= 0)
    version = versions.email_version_at(who[known], at_d[known], config.days + 1.0)
    unknown = np.flatnonzero(who < 0)
    stranger = pc.binary_join_element_wise(
        "someone.", pc.cast(pa.array(np.arange(len(unknown)) + 1), pa.string()), "@",
        choose(EMAIL_DOMAINS, np.arange(len(unknown)) % len(EMAIL_DOMAINS)), "",
    )  # fmt: skip
    email = pa.concat_arrays([contact_emails(pop, who[known], version), stranger])
    email = email.take(pa.array(np.argsort(np.concatenate([known, unknown]))))
    email = email_variants(rng, email, config.dirty.email_variant)
    return Tickets(
        who=who, order=order_idx, created_s=created_s, priority=priority, category=category,
        channel=rng.choice(len(TICKET_CHANNELS), size=n, p=TICKET_CHANNEL_SHARES),
        first_response_s=first_response_s, solved_s=solved_s.astype(np.int64), resolution_h=rh, email=email,
        linked=(who >= 0) & (rng.random(n) < LINKED_TO_CUSTOMER),
    )  # fmt: skip


def write_tickets(
    config: GeneratorConfig, pop: Population, orders: Orders, t: Tickets, landing: Path, periods: Periods
) -> dict:
    """Versions: open when created, pending at first response, solved, closed; each exported then."""
    rng = config.rng("tickets_export")
    end_s = config.start_epoch + config.days * 86400
    n = len(t.who)
    solved = t.solved_s >= 0
    closed_s = np.where(solved, t.solved_s + int(CLOSE_AFTER_SOLVED_H * 3600), -1)
    responded_first = solved & (t.first_response_s < t.solved_s) | ~solved
    version_ticket = np.concatenate([np.arange(n), np.flatnonzero(responded_first), np.flatnonzero(solved),
                                     np.flatnonzero(solved)])  # fmt: skip
    status = np.concatenate([np.zeros(n), np.ones(responded_first.sum()), np.full(solved.sum(), 2),
                             np.full(solved.sum(), 3)]).astype(np.int8)  # fmt: skip
    updated_s = np.concatenate(
        [t.created_s, t.first_response_s[responded_first], t.solved_s[solved], closed_s[solved]]
    )
    keep = updated_s < end_s  # changes after the window have not happened yet
    version_ticket, status, updated_s = version_ticket[keep], status[keep], updated_s[keep]
    m = len(version_ticket)
    offsets = utc_offsets(rng, m, config.dirty.non_utc_offset)
    bad_created = rng.random(m) < config.dirty.malformed_date_ticket
    bad_kind = rng.integers(0, 4, m)
    ticket_id = ids("T", np.arange(1, n + 1), 8)
    order_id = orders.order_id
    none = pa.scalar(None, pa.string())

    def lines(idx: np.ndarray, period_start: int) -> pa.Array:
        k = version_ticket[idx]
        st = status[idx]
        off = offsets[idx]
        # a solved ticket's first response is known even when it came with the solution
        responded = (st >= 1) | ((st >= 2) & (t.first_response_s[k] >= 0))
        created = pc.if_else(
            pa.array(bad_created[idx]), malformed_dates(bad_kind[idx]), timestamps(t.created_s[k], off)
        )
        return csv_lines([
            take(ticket_id, k),
            take(t.email, k),
            pc.if_else(pa.array(t.linked[k]), take(pop.contact_id, np.maximum(t.who[k], 0)), none),
            pc.if_else(pa.array(t.order[k] >= 0), take(order_id, np.maximum(t.order[k], 0)), none),
            choose(TICKET_CHANNELS, t.channel[k]),
            choose(PRIORITIES, t.priority[k]),
            choose(CATEGORIES, t.category[k]),
            choose(["open", "pending", "solved", "closed"], st),
            created,
            timestamps(t.first_response_s[k], off, mask=~responded),
            timestamps(np.maximum(t.solved_s[k], 0), off, mask=st < 2),
            timestamps(updated_s[idx], off),
        ])  # fmt: skip

    header = ",".join(c.name for c in RAW_TABLES_BY_NAME["support_tickets"].columns)
    files = write_family(
        landing, "support", "tickets", "csv", updated_s, lines, lambda _: header, periods, config.compress
    )
    stats = {
        "tickets": int(len(np.unique(version_ticket))),
        "ticket_versions": m,
        "unknown_requester_tickets": int((t.who[np.unique(version_ticket)] < 0).sum()),
        "malformed_created_at": int(bad_created.sum()),
    }
    return {"files": files, "stats": stats}


def write_csat(config: GeneratorConfig, t: Tickets, landing: Path, periods: Periods) -> dict:
    rng = config.rng("csat")
    end_s = config.start_epoch + config.days * 86400
    n = len(t.who)
    at_s = t.solved_s + (rng.uniform(1.0, 72.0, n) * 3600).astype(np.int64)
    rated = (t.solved_s >= 0) & (rng.random(n) < CSAT_RESPONSE_RATE) & (at_s < end_s)
    p_good = np.select(
        [t.resolution_h <= h for h, _ in CSAT_GOOD_BY_SPEED], [p for _, p in CSAT_GOOD_BY_SPEED]
    )
    good = rng.random(n) < p_good
    k = np.flatnonzero(rated)
    k = k[np.argsort(at_s[k], kind="stable")]
    rating_id = ids("S", np.arange(1, len(k) + 1), 8)
    ticket_id = ids("T", k + 1, 8)
    offsets = utc_offsets(rng, len(k), config.dirty.non_utc_offset)

    def lines(idx: np.ndarray, period_start: int) -> pa.Array:
        return csv_lines([
            take(rating_id, idx), take(ticket_id, idx),
            choose(("bad", "good"), good[k[idx]]), timestamps(at_s[k[idx]], offsets[idx]),
        ])  # fmt: skip

    header = ",".join(c.name for c in RAW_TABLES_BY_NAME["support_csat"].columns)
    files = write_family(
        landing, "support", "csat", "csv", at_s[k], lines, lambda _: header, periods, config.compress
    )
    return {"files": files, "stats": {"csat": len(k), "csat_good": int(good[k].sum())}}


def survey_days(config: GeneratorConfig) -> np.ndarray:
    start = np.datetime64(config.start.isoformat(), "D")
    years = range(config.start.year, config.end.year + 1)
    out = [
        np.datetime64(f"{y}-{m:02d}-{d:02d}", "D") - start for y in years for m, d in NPS_SURVEY_MONTH_DAYS
    ]
    days = np.array([x.astype(np.int64) for x in out])
    return days[(days >= 0) & (days < config.days)]


def write_nps(
    config: GeneratorConfig,
    pop: Population,
    versions: ContactVersions,
    outcome: CustomerOutcome,
    t: Tickets,
    landing: Path,
    periods: Periods,
) -> dict:
    """Surveys twice a year; the score depends on whether the customer is still buying and on how
    fast their recent problems were solved."""
    rng = config.rng("nps")
    end_s = config.start_epoch + config.days * 86400
    span = config.days + 1.0
    problem = (t.who >= 0) & (t.order >= 0)
    created_d = (t.created_s - config.start_epoch) / 86400
    bad_key = np.sort(t.who[problem & ~(t.resolution_h <= config.experience.slow_hours)] * span
                      + created_d[problem & ~(t.resolution_h <= config.experience.slow_hours)])  # fmt: skip
    good_key = np.sort(t.who[problem & (t.resolution_h <= config.experience.slow_hours)] * span
                       + created_d[problem & (t.resolution_h <= config.experience.slow_hours)])  # fmt: skip
    who_parts, day_parts = [], []
    for s in survey_days(config):
        known = np.flatnonzero(pop.created_d < s)
        bought = outcome.first_d[known] < s
        respond = rng.random(len(known)) < np.where(bought, NPS_RESPONSE_BUYER, NPS_RESPONSE_PROSPECT)
        who_parts.append(known[respond])
        day_parts.append(np.full(int(respond.sum()), float(s)))
    who = np.concatenate(who_parts) if who_parts else np.zeros(0, dtype=np.int64)
    day = np.concatenate(day_parts) if day_parts else np.zeros(0)

    def recent(keys: np.ndarray) -> np.ndarray:
        return np.searchsorted(keys, who * span + day) - np.searchsorted(keys, who * span + day - 182.0)

    bought = outcome.first_d[who] < day
    left = bought & (outcome.dropout_d[who] < day)
    mean = np.where(~bought, NPS_MEAN_PROSPECT, np.where(left, NPS_MEAN_LEFT, NPS_MEAN_ALIVE))
    mean = (
        mean + NPS_BAD_PROBLEM_SHIFT * (recent(bad_key) > 0) + NPS_GOOD_PROBLEM_SHIFT * (recent(good_key) > 0)
    )
    score = np.clip(np.round(mean + rng.normal(0.0, NPS_NOISE_SD, len(who))), 0, 10).astype(np.int64)
    at_s = config.start_epoch + np.floor((day + rng.exponential(3.0, len(who))) * 86400).astype(np.int64)
    keep = at_s < end_s
    who, day, score, at_s = who[keep], day[keep], score[keep], at_s[keep]
    order = np.argsort(at_s, kind="stable")
    who, day, score, at_s = who[order], day[order], score[order], at_s[order]
    n = len(who)
    response_id = ids("N", np.arange(1, n + 1), 8)
    email = email_variants(
        rng, contact_emails(pop, who, versions.email_version_at(who, day, span)), config.dirty.email_variant
    )
    with_id = rng.random(n) < NPS_WITH_CUSTOMER_ID
    offsets = utc_offsets(rng, n, config.dirty.non_utc_offset)

    def lines(idx: np.ndarray, period_start: int) -> pa.Array:
        return csv_lines([
            take(response_id, idx),
            pc.if_else(pa.array(with_id[idx]), take(pop.contact_id, who[idx]), pa.scalar(None, pa.string())),
            take(email, idx), integers(score[idx]), timestamps(at_s[idx], offsets[idx]),
        ])  # fmt: skip

    header = ",".join(c.name for c in RAW_TABLES_BY_NAME["support_nps"].columns)
    files = write_family(
        landing, "support", "nps", "csv", at_s, lines, lambda _: header, periods, config.compress
    )
    return {"files": files, "stats": {"nps_responses": n}}
