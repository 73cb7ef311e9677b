"""The documented schema of every landing file: the contract between real exports and the raw layer.

One `RawTable` per raw table in the `raw` schema. The generator in `seeds/` writes files in this
shape, the loader validates them against it, dbt sources are declared over the resulting tables and
`docs/source_schema.md` is rendered from it. A business bringing its own data writes files that
match these specs (see the README, "Bring your own data").

Landing layout: ``<landing>/<source>/<file_family>/<file_family>_<period>.<ext>``, for example
``landing/orders/orders/orders_2024-03.jsonl``. Any period label is accepted (a month, a day);
files are loaded in name order. Files may be gzip-compressed
(``orders_2024-03.jsonl.gz``). Timestamps are ISO-8601; one without a UTC offset is read as UTC.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB/SQL type the loader casts to: VARCHAR, BIGINT, DOUBLE, BOOLEAN, TIMESTAMPTZ, DATE
    required: bool = False  # required: the column must be in the file header AND the value non-null
    doc: str = ""
    allowed: tuple[str, ...] = ()  # non-empty: any other non-null value is quarantined
    min_value: float | None = None  # numeric lower bound; smaller values are quarantined
    max_value: float | None = None  # numeric upper bound; larger values are quarantined
    json_path: str | None = None  # JSONL only: path inside the record, defaults to the column name
    required_unless: str | None = None  # required only in records where this other column is null


@dataclass(frozen=True)
class RawTable:
    name: str  # table name in the `raw` schema, also the Dagster asset key ["raw", name]
    source: str  # landing sub-directory: crm | orders | support
    file_family: str  # sub-directory and file-name prefix under the source
    format: str  # csv | jsonl
    key: str  # the natural key of a record (may repeat across files: staging deduplicates)
    doc: str
    columns: tuple[Column, ...]
    # JSONL only: a nested array in each record that becomes this table's rows (one per element),
    # with the parent's key column carried along.
    unnest: str | None = None
    parent_key: str | None = None
    optional_columns_note: str = ""
    # The table may receive no rows at all (order lines: many shops export order headers only).
    optional_rows: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def globs(self) -> tuple[str, str]:
        """Landing files of this table, plain or gzip-compressed (DuckDB's readers decompress .gz)."""
        base = f"{self.source}/{self.file_family}/{self.file_family}_*.{self.format}"
        return base, base + ".gz"


_PERIOD = re.compile(r"_(\d{4})-(\d{2})(?:-(\d{2}))?\.")


def export_period(file: str) -> str | None:
    """The period label of a landing file named <family>_<period>.<ext>: a month (2024-03), a day
    (2024-03-31), or None for any other label."""
    found = _PERIOD.search(PurePosixPath(file).name)
    return found.group(0)[1:-1] if found else None


def export_period_days(file: str) -> int:
    """Days a landing file's period covers (a month's length, 1 for a day or an unrecognised label), so
    volumes of monthly history and daily deliveries compare per day."""
    period = export_period(file)
    if period is None or len(period) > 7:
        return 1
    year, month = map(int, period.split("-"))
    return calendar.monthrange(year, month)[1]


CHANNELS = ("organic", "paid_search", "social", "referral", "email", "partner")
CURRENCIES = ("USD", "EUR", "GBP")

RAW_TABLES: tuple[RawTable, ...] = (
    # ---------------------------------------------------------------- CRM (HubSpot/Salesforce-style CSV)
    RawTable(
        name="crm_contacts",
        source="crm",
        file_family="contacts",
        format="csv",
        key="contact_id",
        doc="Accounts/contacts. Each monthly file holds the full current state of every contact "
        "created or changed that month, so a contact appears once per change (history for SCD2).",
        columns=(
            Column("contact_id", "VARCHAR", True, "CRM id; also the shop's customer_id."),
            Column("email", "VARCHAR", True, "Email as typed: may differ in case or spaces."),
            Column("first_name", "VARCHAR"),
            Column("last_name", "VARCHAR"),
            Column("phone", "VARCHAR", doc="Added to the export in 2024-07; absent in older files."),
            Column("country", "VARCHAR", doc="ISO 3166-1 alpha-2."),
            Column("segment", "VARCHAR", allowed=("smb", "mid_market", "enterprise")),
            Column("acquisition_channel", "VARCHAR", allowed=CHANNELS),
            Column("account_manager", "VARCHAR", doc="Owner; empty when unassigned."),
            Column("marketing_opt_in", "BOOLEAN"),
            Column("is_internal", "BOOLEAN", doc="Test/internal account flag set by the CRM admin."),
            Column("created_at", "TIMESTAMPTZ", True),
            Column("updated_at", "TIMESTAMPTZ", True, "When this version of the record was saved."),
        ),
    ),
    RawTable(
        name="crm_leads",
        source="crm",
        file_family="leads",
        format="csv",
        key="lead_id",
        doc="Leads/prospects before they become contacts.",
        columns=(
            Column("lead_id", "VARCHAR", True),
            Column("email", "VARCHAR", True),
            Column("source_channel", "VARCHAR", allowed=CHANNELS),
            Column("status", "VARCHAR", allowed=("open", "converted", "disqualified")),
            Column("converted_contact_id", "VARCHAR", doc="Set once the lead became a contact."),
            Column("created_at", "TIMESTAMPTZ", True),
        ),
    ),
    RawTable(
        name="crm_activities",
        source="crm",
        file_family="activities",
        format="csv",
        key="activity_id",
        doc="Sales and marketing touches on a contact.",
        columns=(
            Column("activity_id", "VARCHAR", True),
            Column("contact_id", "VARCHAR", True),
            Column("activity_type", "VARCHAR", True, allowed=("email", "call", "meeting", "campaign_touch")),
            Column("campaign", "VARCHAR", doc="Campaign name for campaign touches."),
            Column("occurred_at", "TIMESTAMPTZ", True),
        ),
    ),
    # ---------------------------------------------------------------- Orders (shop-platform API, JSON lines)
    RawTable(
        name="shop_orders",
        source="orders",
        file_family="orders",
        format="jsonl",
        key="order_id",
        doc="One JSON object per line per order, with nested line_items (loaded to shop_order_lines; "
        "optional: an export of order headers only loads, revenue comes from the header). "
        "A late order can arrive in a later month's file than its created_at.",
        columns=(
            Column("order_id", "VARCHAR", True),
            Column("order_number", "BIGINT"),
            Column("customer_id", "VARCHAR", doc="Shop customer id = CRM contact_id; null for a guest."),
            Column(
                "email",
                "VARCHAR",
                doc="Checkout email; may be absent when the order carries a customer_id.",
                required_unless="customer_id",
            ),
            Column("created_at", "TIMESTAMPTZ", True),
            Column("status", "VARCHAR", True, allowed=("completed", "cancelled")),
            Column("currency", "VARCHAR", True, allowed=CURRENCIES),
            Column("subtotal", "DOUBLE", True, min_value=0, doc="Sum of line items, before discount."),
            Column("discount_total", "DOUBLE", min_value=0),
            Column("promo_code", "VARCHAR", doc="Codes starting with LOYAL target existing customers."),
            Column("tax_total", "DOUBLE", min_value=0),
            Column("shipping_total", "DOUBLE", min_value=0),
            Column("total", "DOUBLE", True, min_value=0, doc="subtotal - discount + tax + shipping."),
            Column("referral_code", "VARCHAR", doc="REF-<contact_id> of the customer who referred this one."),
        ),
    ),
    RawTable(
        name="shop_order_lines",
        source="orders",
        file_family="orders",
        format="jsonl",
        key="line_id",
        doc="The line_items array of each order, one row per element. Optional: an order without "
        "`line_items` (or with null) has no rows here; one whose `line_items` is not an array is "
        "quarantined.",
        unnest="line_items",
        optional_rows=True,
        parent_key="order_id",
        columns=(
            Column("order_id", "VARCHAR", True),
            Column("line_id", "VARCHAR", True),
            Column("product_id", "VARCHAR", True),
            Column("quantity", "BIGINT", True, min_value=1),
            Column("unit_price", "DOUBLE", True, min_value=0),
        ),
    ),
    RawTable(
        name="shop_refunds",
        source="orders",
        file_family="refunds",
        format="jsonl",
        key="refund_id",
        doc="Refunds as their own records, in the order's currency.",
        columns=(
            Column("refund_id", "VARCHAR", True),
            Column("order_id", "VARCHAR", True),
            Column("created_at", "TIMESTAMPTZ", True),
            Column("currency", "VARCHAR", True, allowed=CURRENCIES),
            Column("amount", "DOUBLE", True, min_value=0),
            Column("reason", "VARCHAR"),
        ),
    ),
    RawTable(
        name="shop_products",
        source="orders",
        file_family="products",
        format="csv",
        key="product_id",
        doc="Product catalogue.",
        columns=(
            Column("product_id", "VARCHAR", True),
            Column("sku", "VARCHAR", True),
            Column("name", "VARCHAR"),
            Column("category", "VARCHAR"),
            Column("list_price_usd", "DOUBLE", min_value=0),
        ),
    ),
    RawTable(
        name="shop_exchange_rates",
        source="orders",
        file_family="exchange_rates",
        format="csv",
        key="rate_date",
        doc="Daily rates: value of one unit of `currency` in USD on `rate_date`.",
        columns=(
            Column("rate_date", "DATE", True),
            Column("currency", "VARCHAR", True, allowed=CURRENCIES),
            Column("usd_per_unit", "DOUBLE", True, min_value=0),
        ),
    ),
    # ---------------------------------------------------------------- Support (help-desk CSV)
    RawTable(
        name="support_tickets",
        source="support",
        file_family="tickets",
        format="csv",
        key="ticket_id",
        doc="Tickets; a ticket is exported again when its status changes (latest updated_at wins).",
        columns=(
            Column("ticket_id", "VARCHAR", True),
            Column("requester_email", "VARCHAR", doc="May belong to no known customer."),
            Column("customer_id", "VARCHAR", doc="Set when the agent linked the ticket to a customer."),
            Column("order_id", "VARCHAR", doc="Related order, for post-purchase tickets."),
            Column("channel", "VARCHAR", allowed=("email", "chat", "phone", "web")),
            Column("priority", "VARCHAR", True, allowed=("low", "normal", "high", "urgent")),
            Column("category", "VARCHAR", allowed=("delivery", "billing", "product", "account", "other")),
            Column("status", "VARCHAR", True, allowed=("open", "pending", "solved", "closed")),
            Column("created_at", "TIMESTAMPTZ", True),
            Column("first_response_at", "TIMESTAMPTZ"),
            Column("solved_at", "TIMESTAMPTZ"),
            Column("updated_at", "TIMESTAMPTZ", True),
        ),
    ),
    RawTable(
        name="support_csat",
        source="support",
        file_family="csat",
        format="csv",
        key="rating_id",
        doc="CSAT rating sent after a ticket is solved.",
        columns=(
            Column("rating_id", "VARCHAR", True),
            Column("ticket_id", "VARCHAR", True),
            Column("rating", "VARCHAR", True, allowed=("good", "bad")),
            Column("created_at", "TIMESTAMPTZ", True),
        ),
    ),
    RawTable(
        name="support_nps",
        source="support",
        file_family="nps",
        format="csv",
        key="response_id",
        doc="NPS survey responses (0-10), surveys sent periodically.",
        columns=(
            Column("response_id", "VARCHAR", True),
            Column("customer_id", "VARCHAR"),
            Column("email", "VARCHAR"),
            Column("score", "BIGINT", True, min_value=0, max_value=10),
            Column("submitted_at", "TIMESTAMPTZ", True),
        ),
    ),
)

RAW_TABLES_BY_NAME = {t.name: t for t in RAW_TABLES}
