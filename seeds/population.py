"""Who the contacts are: when and how acquired, CRM attributes, latent BG/NBD and Gamma-Gamma state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.lib.raw_schema import CHANNELS
from seeds.config import CHANNEL_PARAMS, GeneratorConfig
from seeds.text import choose, ids

# (country, share, currency, tax rate)
COUNTRIES = (
    ("US", 0.52, "USD", 0.07),
    ("CA", 0.06, "USD", 0.05),
    ("GB", 0.12, "GBP", 0.20),
    ("IE", 0.02, "EUR", 0.23),
    ("DE", 0.10, "EUR", 0.19),
    ("FR", 0.08, "EUR", 0.20),
    ("NL", 0.05, "EUR", 0.21),
    ("ES", 0.05, "EUR", 0.21),
)
CURRENCY_CODES = ("USD", "EUR", "GBP")
COUNTRY_CURRENCY = np.array([CURRENCY_CODES.index(c[2]) for c in COUNTRIES], dtype=np.int8)
COUNTRY_TAX = np.array([c[3] for c in COUNTRIES])
SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_SHARES = (0.70, 0.22, 0.08)
MANAGER_SHARE_BY_SEGMENT = np.array([0.25, 0.75, 0.95])  # share of contacts with an account manager
ACCOUNT_MANAGERS = tuple(
    f"{f} {s}"
    for f, s in zip(
        ("Ava", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kira", "Luis"),
        (
            "Moreau",
            "Okafor",
            "Schmidt",
            "Patel",
            "Rossi",
            "Adeyemi",
            "Kim",
            "Tanaka",
            "Silva",
            "Berg",
            "Ivanova",
            "Ortiz",
        ),
        strict=True,
    )
)
FIRST_NAMES = (
    "james mary john patricia robert jennifer michael linda william elizabeth david barbara richard susan "
    "joseph jessica thomas sarah charles karen emma liam olivia noah amelia oliver sofia lucas mia leon "
    "hannah felix chloe hugo lea jules ana mateo lucia nora"
).split()
LAST_NAMES = (
    "smith johnson williams brown jones garcia miller davis wilson anderson taylor thomas moore martin "
    "jackson white harris clark lewis walker young king wright lopez hill scott green adams baker nelson "
    "muller schmidt schneider fischer dubois laurent bernard murphy kelly byrne"
).split()
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "inbox.example", "post.example")
INTERNAL_DOMAIN = "example-internal.test"
MARKETING_OPT_IN = 0.6
GROWTH = 1.5  # acquisitions per day grow linearly: (1 + GROWTH) times as many at the end as at the start


@dataclass
class Population:
    n: int
    channel: np.ndarray  # int8 index into CHANNELS
    created_d: np.ndarray  # days since start (float)
    created_s: np.ndarray  # epoch seconds
    prospect: np.ndarray  # never buys
    internal: np.ndarray  # test/internal account
    internal_flag: np.ndarray  # is_internal=true in the CRM (an internal account may only have the email)
    internal_email: np.ndarray  # email at the internal domain
    segment0: np.ndarray
    country: np.ndarray
    manager0: np.ndarray  # index into ACCOUNT_MANAGERS, -1 unassigned
    opt_in0: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray
    domain: np.ndarray
    lam: np.ndarray  # purchases per week
    p: np.ndarray  # dropout probability after each repeat purchase
    nu: np.ndarray  # Gamma-Gamma scale of the order value
    contact_id: pa.Array

    @property
    def currency(self) -> np.ndarray:
        return COUNTRY_CURRENCY[self.country]


def acquisition_days(rng: np.random.Generator, n: int, days: int) -> np.ndarray:
    """Acquisition times with a density growing linearly over the window (inverse CDF), sorted."""
    u = rng.random(n)
    x = (-1.0 + np.sqrt(1.0 + 2.0 * GROWTH * u * (1.0 + GROWTH / 2.0))) / GROWTH
    return np.sort(x * days)


def build_population(config: GeneratorConfig) -> Population:
    rng = config.rng("population")
    n = config.customers
    created_d = acquisition_days(rng, n, config.days)
    shares = np.array([CHANNEL_PARAMS[c].share for c in CHANNELS])
    channel = rng.choice(len(CHANNELS), size=n, p=shares / shares.sum()).astype(np.int8)
    prospect_share = np.array([CHANNEL_PARAMS[c].prospect_share for c in CHANNELS])[channel]
    prospect = rng.random(n) < prospect_share

    internal = rng.random(n) < config.dirty.internal_account
    if config.dirty.internal_account > 0 and n >= 100:
        internal[rng.choice(n, size=3, replace=False)] = True  # a few always, even in small samples
    kind = rng.choice(3, size=n, p=[0.4, 0.4, 0.2])  # flag only, email only, both
    internal_flag = internal & (kind != 1)
    internal_email = internal & (kind != 0)

    segment0 = rng.choice(3, size=n, p=SEGMENT_SHARES).astype(np.int8)
    country = rng.choice(len(COUNTRIES), size=n, p=[c[1] for c in COUNTRIES]).astype(np.int8)
    has_manager = rng.random(n) < MANAGER_SHARE_BY_SEGMENT[segment0]
    manager0 = np.where(has_manager, rng.integers(0, len(ACCOUNT_MANAGERS), n), -1).astype(np.int16)

    params = [CHANNEL_PARAMS[c] for c in CHANNELS]
    r, alpha, a, b, gp, gq, gg = (
        np.array([getattr(x, k) for x in params])[channel]
        for k in ("r", "alpha", "a", "b", "gg_p", "gg_q", "gg_gamma")
    )
    del gp
    lam = rng.gamma(r, 1.0 / alpha)
    p = rng.beta(a, b)
    nu = rng.gamma(gq, 1.0 / gg)
    return Population(
        n=n,
        channel=channel,
        created_d=created_d,
        created_s=config.start_epoch + np.floor(created_d * 86400).astype(np.int64),
        prospect=prospect,
        internal=internal,
        internal_flag=internal_flag,
        internal_email=internal_email,
        segment0=segment0,
        country=country,
        manager0=manager0,
        opt_in0=rng.random(n) < MARKETING_OPT_IN,
        first_name=rng.integers(0, len(FIRST_NAMES), n).astype(np.int16),
        last_name=rng.integers(0, len(LAST_NAMES), n).astype(np.int16),
        domain=rng.integers(0, len(EMAIL_DOMAINS), n).astype(np.int8),
        lam=lam,
        p=p,
        nu=nu,
        contact_id=ids("C", np.arange(1, n + 1), 7),
    )


def contact_emails(pop: Population, who: np.ndarray, version: np.ndarray) -> pa.Array:
    """Lower-case email of contacts `who` at email version `version` (0 = the one they signed up with).

    `first.last.<n>@domain`, or `first.last.<n>.v<k>@<another domain>` after the k-th change; internal
    accounts with an internal email use the internal domain in every version.
    """
    who = np.asarray(who)
    version = np.asarray(version, dtype=np.int64)
    first = choose(FIRST_NAMES, pop.first_name[who])
    last = choose(LAST_NAMES, pop.last_name[who])
    number = pc.cast(pa.array(who.astype(np.int64) + 1), pa.string())
    suffix = pc.if_else(
        pa.array(version > 0),
        pc.binary_join_element_wise(".v", pc.cast(pa.array(version), pa.string()), ""),
        "",
    )
    domain = np.where(
        pop.internal_email[who], len(EMAIL_DOMAINS), (pop.domain[who] + version) % len(EMAIL_DOMAINS)
    )
    return pc.binary_join_element_wise(
        first, ".", last, ".", number, suffix, "@", choose(EMAIL_DOMAINS + (INTERNAL_DOMAIN,), domain), ""
    )
