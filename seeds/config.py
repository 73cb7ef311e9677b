"""The generator's configuration and every parameter of the generative model (documented in README.md)."""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from orchestration.lib.raw_schema import CHANNELS


@dataclass(frozen=True)
class ChannelParams:
    """True parameters of one acquisition channel. Time unit: weeks."""

    share: float  # share of contacts acquired through this channel
    prospect_share: float  # share of its contacts who never buy
    r: float  # BG/NBD: purchase rate lambda ~ Gamma(shape r, scale 1/alpha), per week
    alpha: float
    a: float  # BG/NBD: dropout probability p ~ Beta(a, b)
    b: float
    gg_p: float  # Gamma-Gamma: order value ~ Gamma(shape gg_p, scale 1/nu), USD net of discount
    gg_q: float  # Gamma-Gamma: nu ~ Gamma(shape gg_q, scale 1/gg_gamma)
    gg_gamma: float

    @property
    def mean_lambda(self) -> float:
        return self.r / self.alpha

    @property
    def mean_dropout_p(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def mean_order_value(self) -> float:
        """E[gg_p / nu] = gg_p * gg_gamma / (gg_q - 1): the mean of customers' mean order values."""
        return self.gg_p * self.gg_gamma / (self.gg_q - 1)


CHANNEL_PARAMS: dict[str, ChannelParams] = {
    "organic": ChannelParams(0.30, 0.15, r=1.4, alpha=4.3, a=1.4, b=28.0, gg_p=6.0, gg_q=4.0, gg_gamma=40.0),
    "paid_search": ChannelParams(
        0.22, 0.20, r=1.2, alpha=4.3, a=1.6, b=24.0, gg_p=6.0, gg_q=4.0, gg_gamma=36.0
    ),
    "social": ChannelParams(0.15, 0.25, r=1.1, alpha=4.3, a=1.8, b=21.0, gg_p=5.0, gg_q=4.0, gg_gamma=36.0),
    "referral": ChannelParams(0.10, 0.08, r=1.8, alpha=4.7, a=1.2, b=30.0, gg_p=6.0, gg_q=4.5, gg_gamma=52.0),
    "email": ChannelParams(0.13, 0.12, r=1.5, alpha=4.3, a=1.3, b=25.0, gg_p=6.0, gg_q=4.0, gg_gamma=38.0),
    "partner": ChannelParams(0.10, 0.10, r=1.3, alpha=3.9, a=1.5, b=26.0, gg_p=7.0, gg_q=5.0, gg_gamma=60.0),
}
assert tuple(CHANNEL_PARAMS) == CHANNELS


@dataclass(frozen=True)
class DirtyRates:
    """Rates of each class of dirty data (see README.md for what the loader/staging must do)."""

    duplicate_order_export: float = 0.005  # of orders: exported again, identical, in a later file
    email_variant: float = 0.03  # of contact versions / checkout / requester emails: case or spaces
    non_utc_offset: float = 0.25  # of timestamps: written with a non-UTC offset (same instant)
    late_order: float = 0.01  # of orders: exported 1-40 days after created_at
    internal_account: float = 0.003  # of contacts: test/internal accounts (with orders)
    unknown_requester_ticket: float = 0.01  # of tickets: requester matches nobody
    malformed_date_order: float = 0.0005  # extra junk orders with an unparsable created_at
    unknown_currency_order: float = 0.0005  # extra junk orders with currency "XXX"
    negative_quantity_line: float = 0.0005  # of line items: quantity -1
    malformed_date_ticket: float = 0.0005  # of tickets: one version with an unparsable created_at


NO_DIRT = DirtyRates(**{f.name: 0.0 for f in dataclasses.fields(DirtyRates)})


@dataclass(frozen=True)
class Experience:
    """Post-purchase problems and their effect on dropout (the 'experience' stage of the lifecycle)."""

    problem_rate: float = 0.06  # of purchases: the customer opens a ticket about the order
    slow_hours: float = 72.0  # a problem solved later than this (or never) is handled badly
    never_solved: float = 0.05  # of problem tickets: never solved
    # Dropout probability after a purchase: 1 - (1 - p) * (1 - dropout_increase) ** bad_problems_so_far
    dropout_increase: float = 0.30


@dataclass(frozen=True)
class GeneratorConfig:
    customers: int
    seed: int
    start: date
    end: date
    out: Path
    clean: bool = False  # no dirty data, no experience effect on dropout
    period: str = "month"  # month | day
    compress: bool = True  # .csv.gz / .jsonl.gz

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("--customers must be at least 1")
        if self.end < self.start:
            raise ValueError("--end is before --start")
        if self.period not in ("month", "day"):
            raise ValueError("--period must be month or day")

    @property
    def dirty(self) -> DirtyRates:
        return NO_DIRT if self.clean else DirtyRates()

    @property
    def experience(self) -> Experience:
        return Experience(dropout_increase=0.0) if self.clean else Experience()

    @property
    def start_epoch(self) -> int:
        return int(datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp())

    @property
    def days(self) -> int:
        """Length of the simulated window in days; it ends at midnight after `end`."""
        return (self.end - self.start).days + 1

    @property
    def phone_from_epoch(self) -> int:
        """Contacts files of periods starting on or after this instant carry the `phone` column."""
        july_2024 = int(datetime(2024, 7, 1, tzinfo=UTC).timestamp())
        end_epoch = self.start_epoch + self.days * 86400
        if self.start_epoch < july_2024 < end_epoch:
            return july_2024
        point = self.start_epoch + int(0.6 * self.days) * 86400
        return point - point % 86400

    def rng(self, component: str) -> np.random.Generator:
        """An independent random stream per component, so one component's draws never shift another's."""
        return np.random.default_rng([self.seed, zlib.crc32(component.encode())])
