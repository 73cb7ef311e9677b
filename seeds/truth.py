"""The truth behind the landing files: true parameters and each customer's latent state (never in landing)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from orchestration.lib.raw_schema import CHANNELS
from seeds import crm, orders, purchases, support
from seeds.config import CHANNEL_PARAMS, GeneratorConfig
from seeds.landing import write_bytes
from seeds.population import COUNTRIES, CURRENCY_CODES, INTERNAL_DOMAIN, SEGMENTS, Population
from seeds.purchases import CustomerOutcome
from seeds.text import booleans, choose, csv_lines, decimal_text, integers, text_bytes, timestamps

CUSTOMER_COLUMNS = (
    "customer_id", "acquisition_channel", "country", "currency", "segment", "is_internal", "is_prospect",
    "created_at", "lambda", "dropout_p", "nu", "mean_order_value", "first_purchase_at", "last_purchase_at",
    "n_purchases", "alive_at_end", "dropout_at", "problems", "bad_problems",
)  # fmt: skip


def write_customers(config: GeneratorConfig, pop: Population, outcome: CustomerOutcome, truth: Path) -> Path:
    gg_p = np.array([CHANNEL_PARAMS[c].gg_p for c in CHANNELS])[pop.channel]

    def at(days: np.ndarray) -> pa.Array:
        missing = np.isnan(days)
        return timestamps(
            config.start_epoch + np.floor(np.nan_to_num(days) * 86400).astype(np.int64), mask=missing
        )

    lines = csv_lines([
        pop.contact_id,
        choose(CHANNELS, pop.channel),
        choose([c[0] for c in COUNTRIES], pop.country),
        choose(CURRENCY_CODES, pop.currency),
        choose(SEGMENTS, pop.segment0),
        booleans(pop.internal),
        booleans(pop.prospect),
        timestamps(pop.created_s),
        decimal_text(pop.lam, 8),
        decimal_text(pop.p, 8),
        decimal_text(pop.nu, 8),
        decimal_text(gg_p / pop.nu, 4),
        at(outcome.first_d),
        at(outcome.last_d),
        integers(outcome.n_purchases),
        booleans(outcome.alive),
        at(outcome.dropout_d),
        integers(outcome.problems),
        integers(outcome.bad_problems),
    ])  # fmt: skip
    content = (",".join(CUSTOMER_COLUMNS) + "\n").encode() + text_bytes(lines)
    return write_bytes(truth / "customers.csv", content, compress=True)


def constants(module) -> dict:
    """Upper-case constants defined in `module` (not imported into it): the documented rates."""
    source = inspect.getsource(module)
    out = {}
    for name, value in vars(module).items():
        if not name.isupper() or not re.search(rf"^[A-Z0-9_, ]*\b{name}\b[A-Z0-9_, ]*=", source, re.M):
            continue
        if isinstance(value, int | float | str | tuple):
            out[name.lower()] = list(value) if isinstance(value, tuple) else value
        elif isinstance(value, np.ndarray):
            out[name.lower()] = value.tolist()
    return out


def write_parameters(config: GeneratorConfig, stats: dict, truth: Path) -> Path:
    phone_from = datetime.fromtimestamp(config.phone_from_epoch, tz=UTC).date().isoformat()
    params = {
        "generator": {
            "customers": config.customers, "seed": config.seed, "start": config.start.isoformat(),
            "end": config.end.isoformat(), "period": config.period, "clean": config.clean,
        },
        "time_unit": "week",
        "model": "BG/NBD purchases (lambda ~ Gamma(r, scale 1/alpha) per week, p ~ Beta(a, b), dropout only "
        "after repeat purchases) and Gamma-Gamma order values (nu ~ Gamma(q, scale 1/gamma), value ~ "
        "Gamma(p, scale 1/nu), USD net of discount, before refunds)",
        "channels": {
            name: {
                "share": c.share, "prospect_share": c.prospect_share,
                "bgnbd": {"r": c.r, "alpha": c.alpha, "a": c.a, "b": c.b},
                "gamma_gamma": {"p": c.gg_p, "q": c.gg_q, "gamma": c.gg_gamma},
                "mean_lambda_per_week": c.mean_lambda, "mean_dropout_p": c.mean_dropout_p,
                "mean_order_value_usd": c.mean_order_value,
            }
            for name, c in CHANNEL_PARAMS.items()
        },
        "experience_effect": {
            **dataclasses.asdict(config.experience),
            "formula": "dropout after a purchase = 1 - (1 - p) * (1 - dropout_increase) ** bad_problems",
        },
        "dirty_rates": dataclasses.asdict(config.dirty),
        "phone_column_from": phone_from,
        "internal_email_domain": INTERNAL_DOMAIN,
        "rates": {
            "purchases": constants(purchases), "crm": constants(crm), "orders": constants(orders),
            "support": constants(support),
        },
        "counts": stats,
    }  # fmt: skip
    path = truth / "parameters.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(params, indent=2) + "\n")
    return path
