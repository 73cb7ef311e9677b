"""Names the suites and the frames they validate share, kept apart from suites.py so that reading them
does not import Great Expectations (seconds of start-up for every process that loads the Definitions)."""

from __future__ import annotations

from orchestration.raw_schema import RawTable

# A record's identity inside one file: the declared natural key, plus what makes a repeat legitimate.
KEY_COLUMNS = {"shop_exchange_rates": ("rate_date", "currency")}
VERSION_COLUMNS = ("updated_at", "status")  # what changes between two exports of one record
LIVE_STAGES = ("new", "active", "at_risk", "reactivated")
STAGES = ("prospect", *LIVE_STAGES, "churned")
VALUE_TIERS = ("high", "medium", "low")


def record_key(table: RawTable) -> list[str]:
    """Columns that identify one record inside one file. A record exported again in the same file is
    legitimate when something changed (a new status, a new `updated_at`); an exact repeat is not.
    Rows unnested from one record (order lines) are told apart by the record's line in the file."""
    if table.unnest:
        return ["_line", table.key]
    key = list(KEY_COLUMNS.get(table.name, (table.key,)))
    names = {c.name for c in table.columns}
    key += [c for c in VERSION_COLUMNS if c in names][:1]
    return key
