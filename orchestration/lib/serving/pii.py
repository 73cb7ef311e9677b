"""Personal data never reaches BI in clear: every mart column that looks personal is hashed or dropped.

Detection is deliberately broad (column-name patterns); the decision per column is explicit (MASKING). A
column that matches a pattern and has no decision stops the publish, so adding an `email` or `phone`
column to a mart forces someone to decide how it is served. docs/bi_connections.md lists every decision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Action = Literal["hash", "drop", "keep", "hash_guest"]

# Column names that may hold an email address, a person's name or a phone number.
PII_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"e_?mail"),
    "phone": re.compile(r"phone|mobile|msisdn|(^|_)(tel|telephone|fax)($|_)"),
    "name": re.compile(
        r"^name$|(^|_)(first|last|full|given|family|middle|sur|customer|contact|person|display|user"
        r"|requester|agent|owner|account_manager)_?name$|^(account_manager|sales_rep|owner)$"
    ),
}

# How each personal column is served. hash: salted sha256 hex (BI can still count distinct and join
# across marts, never read the value); drop: not published; keep: matched a pattern but is not personal.
MASKING: dict[str, Action] = {
    "email": "hash",
    "normalised_email": "hash",
    "normalized_email": "hash",
    "email_normalised": "hash",
    "customer_email": "hash",
    "contact_email": "hash",
    "checkout_email": "hash",
    "requester_email": "hash",
    "first_name": "drop",
    "last_name": "drop",
    "full_name": "drop",
    "customer_name": "drop",
    "contact_name": "drop",
    # The CRM owner of an account: an employee's name. Hashed, so BI can still compare accounts per manager.
    "account_manager": "hash",
    "phone": "drop",
    "phone_number": "drop",
    "mobile": "drop",
}

# Guest customers' ids are 'g-' || md5(normalised email) (DECISIONS.md): an unsalted hash of an email, which
# anyone holding the address can recompute. In every customer id column, those ids are re-hashed with the
# salt (the same everywhere, so marts still join); CRM ids are published as they are.
GUEST_ID_COLUMN = re.compile(r"(^|_)customer_id$")

# A value shaped like an email in a column that is published in clear is a leak whatever the column's name.
EMAIL_VALUE_REGEX = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"

# The sample's salt, documented so the sample's hashes are reproducible; set RW_PII_SALT in production.
DEFAULT_SALT = "retention-warehouse-sample-salt"


class PiiError(RuntimeError):
    """A mart would publish personal data in clear."""


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    action: Action | None  # None: not personal, published as is
    category: str | None  # which PII pattern matched

    def select_sql(self) -> str | None:
        """The select-list item that publishes this column (salt is the statement's only parameter)."""
        quoted = '"' + self.name.replace('"', '""') + '"'
        if self.action == "drop":
            return None
        if self.action == "hash":
            # `||` keeps NULL as NULL (concat would hash the bare salt).
            return f"sha256(getvariable('rw_pii_salt') || {quoted}::varchar) as {quoted}"
        if self.action == "hash_guest":
            return (
                f"case when starts_with({quoted}, 'g-') "
                f"then 'g-' || sha256(getvariable('rw_pii_salt') || {quoted}) else {quoted} end as {quoted}"
            )
        return quoted


def pii_category(column: str) -> str | None:
    lowered = column.lower()
    for category, pattern in PII_PATTERNS.items():
        if pattern.search(lowered):
            return category
    return None


def plan_columns(mart: str, columns: Iterable[tuple[str, str]]) -> list[ColumnPlan]:
    """How each (column, type) of `mart` is published; PiiError names every undecided personal column."""
    plans, undecided = [], []
    for column, dtype in columns:
        if column.startswith("_"):  # pipeline bookkeeping (_processed_through): not served, see the docs
            plans.append(ColumnPlan(column, "drop", "bookkeeping"))
            continue
        category = pii_category(column)
        action = MASKING.get(column.lower()) if category else None
        if not category and dtype == "VARCHAR" and GUEST_ID_COLUMN.search(column.lower()):
            category, action = "guest email hash", "hash_guest"
        if category and action is None:
            undecided.append(f"marts.{mart}.{column} (looks like {category})")
        plans.append(ColumnPlan(column, action, category))
    if undecided:
        raise PiiError(
            "refusing to publish personal data in clear: "
            + ", ".join(undecided)
            + ". Add each column to MASKING in orchestration/lib/serving/pii.py (hash or drop) and document "
            "it in docs/bi_connections.md."
        )
    return plans


def pii_salt(configured: str) -> tuple[str, bool]:
    """The PII salt to use (Settings.pii_salt, RW_PII_SALT) and whether it is the documented sample
    default. Never log the salt itself."""
    return (configured, False) if configured else (DEFAULT_SALT, True)
