"""Shop reference data: the product catalogue and daily exchange rates (value of one unit in USD)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.lib.raw_schema import RAW_TABLES_BY_NAME
from seeds.config import GeneratorConfig
from seeds.landing import Periods, write_family
from seeds.population import CURRENCY_CODES
from seeds.text import choose, csv_lines, dates, fixed, ids, integers, take

N_PRODUCTS = 240
CATEGORIES = ("apparel", "home", "electronics", "beauty", "outdoor", "books")
REPRICED_SHARE = 0.10  # products re-exported with a new list price, once, mid-window
RATE_START = {"USD": 1.0, "EUR": 1.08, "GBP": 1.26}
RATE_DAILY_VOLATILITY = 0.004  # log random walk
RATE_DECIMALS = 6


@dataclass
class Catalog:
    product_id: pa.Array
    category: np.ndarray
    list_price_cents: np.ndarray


def build_catalog(config: GeneratorConfig) -> Catalog:
    rng = config.rng("catalog")
    category = rng.integers(0, len(CATEGORIES), N_PRODUCTS)
    price = np.round(np.exp(rng.normal(np.log(30.0), 0.8, N_PRODUCTS)), 0) * 100 - 1  # e.g. 29.99
    return Catalog(ids("P", np.arange(1, N_PRODUCTS + 1), 4), category, price.astype(np.int64))


def build_rates(config: GeneratorConfig) -> np.ndarray:
    """usd_per_unit in millionths, shape (currency, day), as published (rounded to 6 decimals)."""
    rng = config.rng("exchange_rates")
    rates = np.empty((len(CURRENCY_CODES), config.days), dtype=np.int64)
    for i, code in enumerate(CURRENCY_CODES):
        if code == "USD":
            rates[i] = 10**RATE_DECIMALS
            continue
        walk = np.cumsum(rng.normal(0.0, RATE_DAILY_VOLATILITY, config.days))
        rates[i] = np.round(RATE_START[code] * np.exp(walk) * 10**RATE_DECIMALS)
    return rates


def write_products(config: GeneratorConfig, catalog: Catalog, landing: Path, periods: Periods) -> list[Path]:
    """The whole catalogue in the first period's file; a few products again later with a new price."""
    rng = config.rng("catalog_export")
    repriced = np.flatnonzero(rng.random(N_PRODUCTS) < REPRICED_SHARE)
    product = np.concatenate([np.arange(N_PRODUCTS), repriced])
    price = np.concatenate([catalog.list_price_cents, catalog.list_price_cents[repriced] + 500])
    export_s = np.concatenate([
        np.full(N_PRODUCTS, config.start_epoch),
        np.full(len(repriced), config.start_epoch + (config.days // 2) * 86400),
    ])  # fmt: skip
    sku = ids("SKU-", np.arange(1, N_PRODUCTS + 1) * 7 + 10000, 6)

    def lines(idx: np.ndarray, period_start: int) -> pa.Array:
        p = product[idx]
        name = pc.binary_join_element_wise(
            choose(CATEGORIES, catalog.category[p]), "item", integers(p + 1), " "
        )
        return csv_lines([
            take(catalog.product_id, p), take(sku, p), name,
            choose(CATEGORIES, catalog.category[p]), fixed(price[idx], 2),
        ])  # fmt: skip

    header = ",".join(c.name for c in RAW_TABLES_BY_NAME["shop_products"].columns)
    return write_family(
        landing, "orders", "products", "csv", export_s, lines, lambda _: header, periods, config.compress
    )


def write_rates(config: GeneratorConfig, rates: np.ndarray, landing: Path, periods: Periods) -> list[Path]:
    n_cur, n_days = rates.shape
    day = np.tile(np.arange(n_days), n_cur)
    currency = np.repeat(np.arange(n_cur), n_days)
    order = np.lexsort((currency, day))  # by date, then currency
    day, currency = day[order], currency[order]
    day_s = config.start_epoch + day.astype(np.int64) * 86400

    def lines(idx: np.ndarray, period_start: int) -> pa.Array:
        return csv_lines([
            dates(day_s[idx]), choose(CURRENCY_CODES, currency[idx]),
            fixed(rates[currency[idx], day[idx]], RATE_DECIMALS),
        ])  # fmt: skip

    header = ",".join(c.name for c in RAW_TABLES_BY_NAME["shop_exchange_rates"].columns)
    return write_family(
        landing, "orders", "exchange_rates", "csv", day_s, lines, lambda _: header, periods, config.compress
    )
