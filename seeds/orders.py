"""Shop export: orders (JSON lines with nested line items) and refunds, built from the simulated purchases."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.lib.raw_schema import CHANNELS
from seeds.catalog import N_PRODUCTS, Catalog
from seeds.config import GeneratorConfig
from seeds.crm import ContactVersions
from seeds.dirty import apply_variants, malformed_dates, utc_offsets, variant_kinds
from seeds.landing import Periods, write_family
from seeds.population import (
    COUNTRIES,
    COUNTRY_CURRENCY,
    COUNTRY_TAX,
    CURRENCY_CODES,
    EMAIL_DOMAINS,
    Population,
    contact_emails,
)
from seeds.purchases import Problems, Purchases
from seeds.text import (
    choose,
    fixed,
    ids,
    integers,
    joined_lists,
    json_objects,
    json_raw,
    json_string,
    take,
    timestamps,
    where,
)

CANCEL_RATE = 0.03  # extra cancelled orders, per purchase (placed shortly before it)
CONTACT_GUEST_CHECKOUT = 0.01  # of a contact's purchases: checked out as guest (no customer_id)
GUEST_CUSTOMERS_PER_CONTACT = 0.02  # shoppers never in the CRM
GUEST_EXTRA_ORDERS = 0.4  # Poisson mean of a guest's orders after the first
GUEST_VALUE_SHAPE, GUEST_VALUE_SCALE = 6.0, 10.0  # guest order value, USD
REFERRAL_CODE_SHARE = 0.5  # of first orders of referral-channel customers
PROMOS = ("", "WELCOME10", "LOYAL10", "LOYAL15", "SPRING15", "SUMMER20", "BLACKFRIDAY25")
PROMO_PCT = np.array([0.0, 0.10, 0.10, 0.15, 0.15, 0.20, 0.25])
WELCOME_SHARE = 0.25  # of first orders
LOYAL10_SHARE, LOYAL15_SHARE = 0.06, 0.04  # of repeat orders
SEASONAL_SHARE = 0.06  # of orders in a season without another code
SEASON_CODE_BY_MONTH = np.array([0, 0, 4, 4, 4, 5, 5, 5, 0, 0, 6, 0])  # Jan..Dec -> PROMOS index
FREE_SHIPPING_FROM_CENTS, SHIPPING_CENTS = 5000, 599
LINES_EXTRA_MEAN = 0.9  # Poisson mean of line items after the first (max 6 lines)
QUANTITY_SHARES = np.array([0.80, 0.15, 0.05])  # quantity 1, 2, 3
REFUND_RATE = 0.04  # of completed orders
REFUND_RATE_WITH_PROBLEM = 0.35  # of completed orders with a post-purchase problem
FULL_REFUND_SHARE = 0.55
CANCELLED_REFUND_SHARE = 0.30  # cancelled orders that were charged and are refunded in full
REFUND_REASONS = ("damaged", "not_as_described", "late_delivery", "changed_mind", "cancelled")
LATE_EXPORT_DAYS = (1.0, 40.0)
DUPLICATE_EXPORT_DAYS = (5.0, 60.0)
JUNK_ORDER_BASE = 900_000_000  # ids of junk (malformed) orders, far from the real ones


@dataclass
class Orders:
    """Every order once, sorted by created time (order_id follows this order)."""

    who: np.ndarray  # contact index, -1 for a shopper never in the CRM
    guest: np.ndarray  # guest number for shoppers never in the CRM, else -1
    purchase: np.ndarray  # index into Purchases, -1 for cancelled/guest orders
    at_d: np.ndarray
    created_s: np.ndarray
    cancelled: np.ndarray
    cancel_s: np.ndarray
    guest_checkout: np.ndarray  # no customer_id on the order
    currency: np.ndarray
    promo: np.ndarray
    subtotal: np.ndarray  # cents of the order currency
    discount: np.ndarray
    tax: np.ndarray
    shipping: np.ndarray
    referrer: np.ndarray  # contact index of the referrer, -1 none
    email_version: np.ndarray  # the contact's email version at the time of the order
    email_variant: np.ndarray  # -1, or the case/spaces variant the shopper typed (dirty.apply_variants)
    line_start: np.ndarray
    n_lines: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray
    line_unit: np.ndarray  # cents

    @property
    def net(self) -> np.ndarray:
        return self.subtotal - self.discount

    def emails(self, pop: Population, rows: np.ndarray) -> pa.Array:
        """Checkout emails of orders `rows`: the contact's email at the time, or `guest.<n>@…`."""
        who = self.who[rows]
        guest = self.guest[rows]
        contact = contact_emails(pop, np.maximum(who, 0), self.email_version[rows])
        guest_email = pc.binary_join_element_wise(
            "guest.",
            integers(guest + 1),
            "@",
            choose(EMAIL_DOMAINS, np.maximum(guest, 0) % len(EMAIL_DOMAINS)),
            "",
        )
        return apply_variants(pc.if_else(pa.array(who >= 0), contact, guest_email), self.email_variant[rows])

    @property
    def order_id(self) -> pa.Array:
        return ids("O", np.arange(1, len(self.at_d) + 1), 9)


def build_orders(
    config: GeneratorConfig,
    pop: Population,
    versions: ContactVersions,
    purchases: Purchases,
    rates: np.ndarray,
) -> Orders:
    rng = config.rng("orders")
    days = config.days
    # cancelled orders: placed shortly before a real purchase, cancelled soon after
    cancel_of = np.flatnonzero(rng.random(len(purchases.who)) < CANCEL_RATE)
    c_who = purchases.who[cancel_of]
    c_at = np.maximum(
        purchases.at_d[cancel_of] - rng.uniform(0.05, 2.0, len(cancel_of)), pop.created_d[c_who]
    )
    c_value = purchases.value_usd[cancel_of] * rng.uniform(0.5, 1.5, len(cancel_of))
    # shoppers never in the CRM
    n_guests = int(round(GUEST_CUSTOMERS_PER_CONTACT * pop.n))
    g_orders = 1 + rng.poisson(GUEST_EXTRA_ORDERS, n_guests)
    g_guest = np.repeat(np.arange(n_guests), g_orders)
    g_at = rng.random(len(g_guest)) * days
    g_value = rng.gamma(GUEST_VALUE_SHAPE, GUEST_VALUE_SCALE, len(g_guest))
    guest_country = rng.choice(len(COUNTRIES), size=n_guests, p=[c[1] for c in COUNTRIES])

    n_p, n_c, n_g = len(purchases.who), len(cancel_of), len(g_guest)
    who = np.concatenate([purchases.who, c_who, np.full(n_g, -1)])
    guest = np.concatenate([np.full(n_p + n_c, -1), g_guest])
    purchase = np.concatenate([np.arange(n_p), np.full(n_c + n_g, -1)])
    at_d = np.concatenate([purchases.at_d, c_at, g_at])
    value = np.concatenate([purchases.value_usd, c_value, g_value])
    number = np.concatenate([purchases.number, np.full(n_c + n_g, -1)])
    cancelled = np.concatenate([np.zeros(n_p, bool), np.ones(n_c, bool), np.zeros(n_g, bool)])
    order = np.argsort(at_d, kind="stable")
    who, guest, purchase, at_d, value, number, cancelled = (
        x[order] for x in (who, guest, purchase, at_d, value, number, cancelled)
    )
    n = len(order)
    created_s = config.start_epoch + np.floor(at_d * 86400).astype(np.int64)
    cancel_d = np.minimum(at_d + rng.uniform(0.02, 2.0, n), days - 1e-5)
    cancel_s = np.where(cancelled, config.start_epoch + np.floor(cancel_d * 86400).astype(np.int64), -1)
    country = np.where(who >= 0, pop.country[np.maximum(who, 0)], guest_country[np.maximum(guest, 0)])
    currency = COUNTRY_CURRENCY[country]
    guest_checkout = (who < 0) | ((who >= 0) & (rng.random(n) < CONTACT_GUEST_CHECKOUT))

    # promo codes: WELCOME on first orders, LOYAL* on repeat orders, seasonal codes for anyone
    u = rng.random(n)
    promo = np.zeros(n, dtype=np.int8)
    promo[(number == 0) & (u < WELCOME_SHARE)] = 1
    promo[(number >= 1) & (u < LOYAL10_SHARE)] = 2
    promo[(number >= 1) & (u >= LOYAL10_SHARE) & (u < LOYAL10_SHARE + LOYAL15_SHARE)] = 3
    month = created_s.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12
    seasonal = (promo == 0) & (rng.random(n) < SEASONAL_SHARE)
    promo[seasonal] = SEASON_CODE_BY_MONTH[month[seasonal]]
    pct = PROMO_PCT[promo]

    # amounts: the Gamma-Gamma value is net of discount in USD; convert at the order date's rate
    day = np.minimum(np.floor(at_d).astype(np.int64), days - 1)
    usd_per_unit = rates[currency, day] / 1e6
    subtotal = np.maximum(np.round(value / (1.0 - pct) / usd_per_unit * 100), 1).astype(np.int64)
    discount = np.round(subtotal * pct).astype(np.int64)
    net = subtotal - discount
    tax = np.round(net * COUNTRY_TAX[country]).astype(np.int64)
    shipping = np.where(net < FREE_SHIPPING_FROM_CENTS, SHIPPING_CENTS, 0).astype(np.int64)

    # line items summing exactly to the subtotal: the last line (quantity 1) takes the remainder
    n_lines = 1 + np.minimum(rng.poisson(LINES_EXTRA_MEAN, n), 5)
    line_start = np.concatenate([[0], np.cumsum(n_lines)[:-1]]).astype(np.int64)
    line_order = np.repeat(np.arange(n, dtype=np.int32), n_lines)
    last = np.append(line_order[1:] != line_order[:-1], True)
    quantity = np.where(last, 1, 1 + rng.choice(3, size=len(line_order), p=QUANTITY_SHARES)).astype(np.int8)
    weight = rng.gamma(2.0, 1.0, len(line_order))
    share = weight / np.bincount(line_order, weights=weight)[line_order]
    del weight
    amount = quantity * np.floor(0.9 * share * subtotal[line_order] / quantity).astype(np.int64)
    del share
    amount[last] = 0
    amount[last] = subtotal[line_order[last]] - np.bincount(line_order, weights=amount, minlength=n).astype(
        np.int64
    )
    line_product = rng.integers(0, N_PRODUCTS, len(line_order)).astype(np.int16)

    # referral codes on first orders of referral-channel customers, naming an earlier buyer
    referrer = np.full(n, -1)
    first = (number == 0) & ~guest_checkout & (who >= 0)
    referral = first & (pop.channel[np.maximum(who, 0)] == CHANNELS.index("referral"))
    referral &= rng.random(n) < REFERRAL_CODE_SHARE
    first_idx = np.flatnonzero(first & ~pop.internal[np.maximum(who, 0)])  # sorted by time already
    earlier = np.searchsorted(at_d[first_idx], at_d[referral], side="left")
    pick = np.floor(rng.random(len(earlier)) * earlier).astype(np.int64)
    if len(first_idx):
        referrer[np.flatnonzero(referral)] = np.where(
            earlier > 0, who[first_idx[np.minimum(pick, len(first_idx) - 1)]], -1
        )

    # checkout email: the contact's email at that time (or the guest's), sometimes in another case;
    # kept as (version, variant) and spelled out only when a period's file is written
    email_version = np.zeros(n, dtype=np.int32)
    c_rows = np.flatnonzero(who >= 0)
    email_version[c_rows] = versions.email_version_at(who[c_rows], at_d[c_rows], config.days + 1.0)
    # guest checkouts of CRM contacts often type their address differently
    variant_rate = np.where(guest_checkout & (who >= 0), 0.5, 1.0) * config.dirty.email_variant
    email_variant = variant_kinds(rng, n, variant_rate)

    return Orders(
        who=who.astype(np.int32), guest=guest.astype(np.int32), purchase=purchase.astype(np.int32), at_d=at_d,
        created_s=created_s, cancelled=cancelled, cancel_s=cancel_s, guest_checkout=guest_checkout,
        currency=currency.astype(np.int8), promo=promo, subtotal=subtotal, discount=discount, tax=tax,
        shipping=shipping, referrer=referrer.astype(np.int32),
        email_version=email_version, email_variant=email_variant,
        line_start=line_start, n_lines=n_lines, line_product=line_product, line_quantity=quantity,
        line_unit=(amount // quantity).astype(np.int32),
    )  # fmt: skip


def write_orders(
    config: GeneratorConfig,
    pop: Population,
    orders: Orders,
    catalog: Catalog,
    landing: Path,
    periods: Periods,
) -> dict:
    """Export rows: each order when created (late ones later), again when cancelled, duplicates, junk."""
    rng = config.rng("orders_export")
    dirty = config.dirty
    n = len(orders.at_d)
    end_s = config.start_epoch + config.days * 86400 - 1
    late = ~orders.cancelled & (rng.random(n) < dirty.late_order)
    base_s = np.where(
        late,
        orders.created_s + (rng.uniform(*LATE_EXPORT_DAYS, n) * 86400).astype(np.int64),
        orders.created_s,
    )
    base_s = np.minimum(base_s, end_s)
    cancelled = np.flatnonzero(orders.cancelled)
    dup = np.flatnonzero(rng.random(n) < dirty.duplicate_order_export)
    dup_s = np.minimum(
        base_s[dup] + (rng.uniform(*DUPLICATE_EXPORT_DAYS, len(dup)) * 86400).astype(np.int64), end_s
    )
    n_bad_date = rng.binomial(n, dirty.malformed_date_order)
    n_bad_cur = rng.binomial(n, dirty.unknown_currency_order)
    junk = rng.choice(n, size=n_bad_date + n_bad_cur, replace=n_bad_date + n_bad_cur > n)
    row_order = np.concatenate([np.arange(n), cancelled, dup, junk])
    row_s = np.concatenate([base_s, orders.cancel_s[cancelled], dup_s, base_s[junk]])
    corrupt = np.concatenate([np.zeros(n + len(cancelled) + len(dup), np.int8), np.ones(n_bad_date, np.int8),
                              np.full(n_bad_cur, 2, np.int8)])  # fmt: skip
    junk_number = np.concatenate(
        [np.full(n + len(cancelled) + len(dup), -1), JUNK_ORDER_BASE + np.arange(len(junk))]
    )
    status_cancelled = orders.cancelled[row_order] & (row_s >= orders.cancel_s[row_order])
    offsets = utc_offsets(rng, len(row_order), dirty.non_utc_offset)
    negative_line = rng.random(len(orders.line_product)) < dirty.negative_quantity_line
    bad_kind = rng.integers(0, 4, len(row_order))
    order_id = orders.order_id
    product_id = catalog.product_id

    def lines(idx: np.ndarray, period_start: int) -> pa.Array:
        o = row_order[idx]
        oid = pc.if_else(
            pa.array(junk_number[idx] >= 0), ids("O", np.maximum(junk_number[idx], 0), 9), take(order_id, o)
        )
        created = timestamps(orders.created_s[o], offsets[idx])
        created = pc.if_else(pa.array(corrupt[idx] == 1), malformed_dates(bad_kind[idx]), created)
        currency = choose(
            (*CURRENCY_CODES, "XXX"), np.where(corrupt[idx] == 2, len(CURRENCY_CODES), orders.currency[o])
        )
        who = orders.who[o]
        customer = pc.if_else(
            pa.array(orders.guest_checkout[o]),
            pa.scalar(None, pa.string()),
            take(pop.contact_id, np.maximum(who, 0)),
        )
        ref = orders.referrer[o]
        referral = where(
            ref >= 0, pc.binary_join_element_wise("REF-", take(pop.contact_id, np.maximum(ref, 0)), "")
        )
        promo = where(orders.promo[o] > 0, choose(PROMOS, orders.promo[o]))
        # nested line items, grouped per exported row
        n_lines = orders.n_lines[o]
        group_offsets = np.concatenate([[0], np.cumsum(n_lines)])
        row_of_line = np.repeat(np.arange(len(o)), n_lines)
        li = orders.line_start[o][row_of_line] + (np.arange(group_offsets[-1]) - group_offsets[row_of_line])
        position = li - orders.line_start[o][row_of_line] + 1
        quantity = np.where(negative_line[li], -1, orders.line_quantity[li])
        line_id = pc.binary_join_element_wise(take(oid, row_of_line), integers(position), "-")
        items = json_objects([
            ("line_id", json_string(line_id)),
            ("product_id", json_string(take(product_id, orders.line_product[li]))),
            ("quantity", integers(quantity)),
            ("unit_price", fixed(orders.line_unit[li], 2)),
        ])  # fmt: skip
        order_number = np.where(junk_number[idx] >= 0, junk_number[idx], 100_000 + o)
        total = orders.subtotal[o] - orders.discount[o] + orders.tax[o] + orders.shipping[o]
        return json_objects([
            ("order_id", json_string(oid)),
            ("order_number", json_raw(integers(order_number))),
            ("customer_id", json_string(customer)),
            ("email", json_string(orders.emails(pop, o))),
            ("created_at", json_string(created)),
            ("status", json_string(choose(("completed", "cancelled"), status_cancelled[idx]))),
            ("currency", json_string(currency)),
            ("subtotal", fixed(orders.subtotal[o], 2)),
            ("discount_total", fixed(orders.discount[o], 2)),
            ("promo_code", json_string(promo)),
            ("tax_total", fixed(orders.tax[o], 2)),
            ("shipping_total", fixed(orders.shipping[o], 2)),
            ("total", fixed(total, 2)),
            ("referral_code", json_string(referral)),
            ("line_items", joined_lists(items, group_offsets)),
        ])  # fmt: skip

    files = write_family(landing, "orders", "orders", "jsonl", row_s, lines, None, periods, config.compress)
    stats = {
        "orders": n,
        "export_rows": len(row_order),
        "late_exports": int((periods.keys(base_s) != periods.keys(orders.created_s)).sum()),
        "duplicate_exports": len(dup),
        "cancel_exports": len(cancelled),
        "junk_malformed_date": int(n_bad_date),
        "junk_unknown_currency": int(n_bad_cur),
        "negative_quantity_lines": int(negative_line.sum()),
        "non_utc_rows": int((offsets != 0).sum()),
    }
    return {"files": files, "stats": stats}


def write_refunds(
    config: GeneratorConfig, orders: Orders, problems: Problems, landing: Path, periods: Periods
) -> dict:
    rng = config.rng("refunds")
    n = len(orders.at_d)
    with_problem = np.zeros(n, dtype=bool)
    purchase_to_order = np.full(int(orders.purchase.max(initial=-1)) + 1, -1)
    purchase_to_order[orders.purchase[orders.purchase >= 0]] = np.flatnonzero(orders.purchase >= 0)
    if len(problems.purchase):
        with_problem[purchase_to_order[problems.purchase]] = True
    rate = np.where(with_problem, REFUND_RATE_WITH_PROBLEM, REFUND_RATE)
    completed_refund = ~orders.cancelled & (rng.random(n) < rate) & (orders.net > 0)
    cancelled_refund = orders.cancelled & (rng.random(n) < CANCELLED_REFUND_SHARE) & (orders.net > 0)
    o = np.flatnonzero(completed_refund | cancelled_refund)
    full = orders.cancelled[o] | (rng.random(len(o)) < FULL_REFUND_SHARE)
    amount = np.where(
        full, orders.net[o], np.round(orders.net[o] * rng.uniform(0.1, 0.9, len(o))).astype(np.int64)
    )
    at_s = np.where(
        orders.cancelled[o],
        orders.cancel_s[o] + 3600,
        orders.created_s[o] + (rng.uniform(1.0, 30.0, len(o)) * 86400).astype(np.int64),
    )
    reason = np.where(orders.cancelled[o], 4, rng.integers(0, 4, len(o)))
    keep = at_s < config.start_epoch + config.days * 86400  # refunds after the window have not happened yet
    o, amount, at_s, reason, full = o[keep], amount[keep], at_s[keep], reason[keep], full[keep]
    order = np.argsort(at_s, kind="stable")
    o, amount, at_s, reason, full = o[order], amount[order], at_s[order], reason[order], full[order]
    refund_id = ids("R", np.arange(1, len(o) + 1), 9)
    offsets = utc_offsets(rng, len(o), config.dirty.non_utc_offset)
    order_id = orders.order_id

    def lines(idx: np.ndarray, period_start: int) -> pa.Array:
        return json_objects([
            ("refund_id", json_string(take(refund_id, idx))),
            ("order_id", json_string(take(order_id, o[idx]))),
            ("created_at", json_string(timestamps(at_s[idx], offsets[idx]))),
            ("currency", json_string(choose(CURRENCY_CODES, orders.currency[o[idx]]))),
            ("amount", fixed(amount[idx], 2)),
            ("reason", json_string(choose(REFUND_REASONS, reason[idx]))),
        ])  # fmt: skip

    files = write_family(landing, "orders", "refunds", "jsonl", at_s, lines, None, periods, config.compress)
    return {"files": files, "stats": {"refunds": len(o), "full_refunds": int(full.sum())}}
