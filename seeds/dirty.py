"""Dirty-data helpers shared by every export: emails in another case/spacing, timestamps in local offsets."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seeds.text import choose

# Offsets (minutes) a misconfigured exporter writes local times in; 0 is written as Z.
LOCAL_OFFSETS = np.array([120, -300, 60, 330, -420, 540, -240])
MALFORMED_DATES = ("2024-02-30T10:00:00Z", "31/12/2024 10:00", "not-a-date", "2024-13-01T00:00:00Z")


def utc_offsets(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """UTC offset in minutes per row: 0 for most, a local offset for a share `rate`."""
    hit = rng.random(n) < rate
    return np.where(hit, LOCAL_OFFSETS[rng.integers(0, len(LOCAL_OFFSETS), n)], 0)


def variant_kinds(rng: np.random.Generator, n: int, rate: float | np.ndarray) -> np.ndarray:
    """Per row: -1 (email as is) or which variant (0 upper, 1 capitalised, 2 leading, 3 trailing spaces)."""
    hit = rng.random(n) < rate
    kind = rng.integers(0, 4, n)
    return np.where(hit, kind, -1).astype(np.int8)


def apply_variants(emails: pa.Array, kinds: np.ndarray) -> pa.Array:
    """The same address differing only in case or surrounding spaces, where `kinds` >= 0."""
    rows = np.flatnonzero(kinds >= 0)
    if not len(rows):
        return emails
    chosen, kind = emails.take(pa.array(rows)), kinds[rows]  # only the rows that change
    conditions = pa.StructArray.from_arrays(
        [pa.array(kind == 0), pa.array(kind == 1), pa.array(kind == 2)], names=["upper", "title", "lead"]
    )
    variant = pc.case_when(
        conditions,
        pc.utf8_upper(chosen),
        pc.utf8_capitalize(chosen),
        pc.binary_join_element_wise(" ", chosen, ""),
        pc.binary_join_element_wise(chosen, "  ", ""),
    )
    return pc.replace_with_mask(emails, pa.array(kinds >= 0), variant)


def email_variants(rng: np.random.Generator, emails: pa.Array, rate: float | np.ndarray) -> pa.Array:
    """The same address differing only in case or surrounding spaces, for a share `rate` of rows (per row)."""
    return apply_variants(emails, variant_kinds(rng, len(emails), rate))


def malformed_dates(kind: np.ndarray) -> pa.Array:
    """Unparsable timestamp text; `kind` picks which of MALFORMED_DATES."""
    return choose(MALFORMED_DATES, np.asarray(kind) % len(MALFORMED_DATES))
