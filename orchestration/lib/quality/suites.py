"""Every Great Expectations suite of the warehouse, written as JSON into the committed file context.

`python -m orchestration.lib.quality.suites` rewrites `expectations/expectations/*.json`; a test fails when
the committed JSON differs from what this module builds, so raw suites always follow
`orchestration/lib/raw_schema.py` (the contract) instead of a hand-copied version of it.

Severity: an expectation with GX severity `critical` is an ERROR that blocks downstream assets; `warning`
is recorded and shown but blocks nothing. Each expectation has a `description` a person understands: it
is what the Dagster check reports when the expectation fails.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.lib.raw_schema import RAW_TABLES, Column, RawTable
from orchestration.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.expectations import Expectation


class _LazyExpectations:
    """`great_expectations.expectations`, imported on first use: the limits and names in this module are
    read by every process that loads the Definitions, which should not pay GX's seconds of import."""

    def __getattr__(self, name: str):
        import great_expectations.expectations as module

        return getattr(module, name)


gxe = _LazyExpectations()

SUITES_DIR = PROJECT_ROOT / "expectations" / "expectations"
CRITICAL, WARNING = "critical", "warning"

# The pandas dtype GX sees for each raw type, as DuckDB hands a batch to pandas.
PANDAS_TYPE = {
    "VARCHAR": "str",
    "BIGINT": "int64",
    "DOUBLE": "float64",
    "BOOLEAN": "bool",
    "TIMESTAMPTZ": "Timestamp",
    "DATE": "datetime64",
}
# A record's identity inside one file: the declared natural key, plus what makes a repeat legitimate.
KEY_COLUMNS = {"shop_exchange_rates": ("rate_date", "currency")}
LINEAGE = (
    Column("_file", "VARCHAR", True),
    Column("_line", "BIGINT", True),
    Column("_loaded_at", "TIMESTAMPTZ"),
)
VERSION_COLUMNS = ("updated_at", "status")  # what changes between two exports of one record
# Relations between amounts of one record that the documented formulas imply (raw_schema.py docs).
PAIR_RULES = {
    "shop_orders": (("subtotal", "discount_total", "a discount never exceeds the order's subtotal"),),
}
LIVE_STAGES = ("new", "active", "at_risk", "reactivated")
STAGES = ("prospect", *LIVE_STAGES, "churned")
VALUE_TIERS = ("high", "medium", "low")

# Limits the suites enforce; each is a choice, and why it was chosen is next to it.
# A file may lose a few records to quarantine (typos, a bad date); beyond 5% the export itself is broken.
MAX_QUARANTINED_SHARE = 0.05
# A record repeated inside one file is kept once by staging. Real exports repeat a few (the sample's
# worst month: 1.1% of order rows); when 5% of a file's rows are repeats, the export itself is broken.
MIN_DISTINCT_KEY_SHARE = 0.95
# Amounts that contradict each other in a record (a discount above the subtotal): at most 1% of a file.
MIN_CONSISTENT_SHARE = 0.99
# Volume: rows per day of a new file against the average of the files before it (same table, by file name;
# per day covered, so a daily delivery compares with monthly history).
RECENT_FILES = 6  # about half a year of monthly exports
MIN_ROWS_VS_RECENT = 0.2  # below: a truncated/collapsed export, blocks (ERROR)
MAX_ROWS_VS_RECENT = 5.0  # above: a jump worth a look, recorded (WARN)
# Below this many rows, counts and fill rates swing by chance (a shop with three orders a day, a hand-made
# fixture): the volume rule judges a file only when it should hold at least this many rows (the recent
# files' rows per day times the days it covers), the emptied-column rule only files whose recent files
# average at least this many rows.
MIN_RECENT_ROWS = 50
# The share rules judge files of at least this many rows. Real exports carry a few bad or repeated records
# (1-2%): in a day's file of 16 order lines one bad record is already 6%. From 100 rows on, 5% means five
# or more bad records, which is an export problem, not chance. Smaller files are still counted,
# quarantined and reconciled.
MIN_ROWS_FOR_SHARES = 100
# Not periodic exports, so their file sizes say nothing: the catalogue arrives as a full file then
# deltas, NPS as survey waves of any size.
VOLUME_EXEMPT_TABLES = ("shop_products", "support_nps")
# A column emptied in a small file can be chance (no promo code in a day's ten orders): the rule judges a
# column only when the file should hold at least this many values of it at the earlier fill rate.
MIN_EXPECTED_FILLED = 20
# A column counts as "filled before" when at least half of the earlier files' rows had a value.
FILLED_BEFORE_SHARE = 0.5
# Money totals compared across layers may differ by float rounding only.
MONEY_TOLERANCE = 0.01
# Row-level validation of new raw rows runs in pandas on every row of a load up to this many, and on a
# uniform sample of this many beyond (an initial bulk load of millions of orders). The loader already
# enforces every row rule by quarantine; the suite checks that contract and the schema, which a sample
# shows. What must be exact (repeats, quarantine share, volume, emptied columns) is counted in SQL.
MAX_VALIDATED_ROWS = 200_000


def _e(
    expectation_cls: type[Expectation], description: str, severity: str = CRITICAL, **kwargs
) -> Expectation:
    return expectation_cls(description=description, severity=severity, **kwargs)


def _zero(column: str, description: str, severity: str = CRITICAL) -> Expectation:
    """A count of violating rows, computed in DuckDB, must be 0."""
    return _e(
        gxe.ExpectColumnValuesToBeBetween, description, severity, column=column, min_value=0, max_value=0
    )


def _between(column: str, low: float | None, high: float | None, description: str, **kw) -> Expectation:
    return _e(
        gxe.ExpectColumnValuesToBeBetween, description, column=column, min_value=low, max_value=high, **kw
    )


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


def raw_batch_suite(table: RawTable) -> ExpectationSuite:
    """Row-level checks of the rows a load added to `raw.<table>`, derived from the RawTable spec."""
    columns = (*table.columns, *LINEAGE)
    ex: list[Expectation] = [
        _e(gxe.ExpectTableRowCountToBeBetween, "the newly loaded files hold at least one row", min_value=1),
        _e(
            gxe.ExpectTableColumnsToMatchSet,
            f"raw.{table.name} has every documented column",
            column_set=[c.name for c in columns],
            exact_match=False,
        ),
    ]
    for c in columns:
        ex.append(
            _e(
                gxe.ExpectColumnValuesToBeOfType,
                f"{c.name} is typed {c.type}",
                column=c.name,
                type_=PANDAS_TYPE[c.type],
            )
        )
        if c.required:
            ex.append(_e(gxe.ExpectColumnValuesToNotBeNull, f"{c.name} is required", column=c.name))
        if c.allowed:
            ex.append(
                _e(
                    gxe.ExpectColumnValuesToBeInSet,
                    f"{c.name} is one of {', '.join(c.allowed)}",
                    column=c.name,
                    value_set=list(c.allowed),
                )
            )
        if c.min_value is not None or c.max_value is not None:
            ex.append(_between(c.name, c.min_value, c.max_value, f"{c.name} within its documented range"))
        if c.type in ("TIMESTAMPTZ", "DATE") and not c.name.startswith("_"):
            bound = {"$PARAMETER": "now_utc" if c.type == "TIMESTAMPTZ" else "today"}
            ex.append(_between(c.name, None, bound, f"{c.name} is not in the future"))
    for larger, smaller, what in PAIR_RULES.get(table.name, ()):
        ex.append(
            _e(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB,
                what,
                column_A=larger,
                column_B=smaller,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                mostly=MIN_CONSISTENT_SHARE,
            )
        )
    return _suite(f"raw_{table.name}", ex, f"Rows newly loaded into raw.{table.name} (raw_schema.py).")


def raw_load_suite() -> ExpectationSuite:
    """One row per newly loaded file of a raw table, from the load ledger (quality/raw_frames.py)."""
    ex = [
        _e(
            gxe.ExpectColumnValuesToBeInSet,
            "the file was loaded (not rejected)",
            column="status",
            value_set=["loaded", "changed_after_load"],
        ),
        _zero("ledger_vs_raw_rows", "rows the ledger says were accepted = rows of the file in the raw table"),
        _zero(
            "ledger_vs_quarantine_rows", "rows the ledger says were quarantined = rows of it in quarantine"
        ),
        _between(
            "quarantined_share",
            0,
            MAX_QUARANTINED_SHARE,
            f"at most {MAX_QUARANTINED_SHARE:.0%} of a file's records are quarantined",
        ),
        _between(
            "rows_vs_recent",
            MIN_ROWS_VS_RECENT,
            None,
            f"a file holds at least {MIN_ROWS_VS_RECENT:.0%} of the average rows per day of the files before "
            "it (a collapsed export)",
        ),
        _e(
            gxe.ExpectColumnValuesToBeBetween,
            f"a file holds at most {MAX_ROWS_VS_RECENT:g}x the average rows per day of the files before it",
            WARNING,
            column="rows_vs_recent",
            max_value=MAX_ROWS_VS_RECENT,
        ),
        _between(
            "repeated_row_share",
            0,
            1 - MIN_DISTINCT_KEY_SHARE,
            f"at most {1 - MIN_DISTINCT_KEY_SHARE:.0%} of a file's rows repeat a record of the same file "
            "(staging keeps one copy; more means a broken export)",
        ),
        _zero(
            "emptied_column_count",
            "no column that was filled in the files before is empty in this file (a dropped export column)",
        ),
    ]
    return _suite("raw_load_health", ex, "Ledger of newly loaded files: rejections, reconciliation, volume.")


def _suite(name: str, expectations: list[Expectation], doc: str) -> ExpectationSuite:
    from great_expectations import ExpectationSuite

    suite = ExpectationSuite(name=name, expectations=expectations, meta={"notes": doc})
    suite.id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"retention-warehouse/{name}"))
    for i, e in enumerate(suite.expectations):
        e.id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"retention-warehouse/{name}/{i}"))
    return suite


def _rate(column: str) -> Expectation:
    return _between(column, 0, 1, f"{column} is a share between 0 and 1")


def _non_negative(column: str) -> Expectation:
    return _between(column, 0, None, f"{column} is not negative")


def _true(column: str, description: str) -> Expectation:
    return _e(gxe.ExpectColumnValuesToBeInSet, description, column=column, value_set=[True])


def mart_suites() -> list[ExpectationSuite]:
    """Mart distributions and invariants dbt's tests do not express (grain, not-null and accepted values
    are dbt tests in the models' YAML; see expectations/README.md). Small marts are validated row by row;
    big ones (customers, orders, months) through a one-row profile of violation counts computed in DuckDB
    (orchestration/lib/quality/mart_frames.py)."""

    def profile_rows() -> Expectation:
        return _e(gxe.ExpectColumnValuesToBeBetween, "the mart is not empty", column="rows", min_value=1)

    return [
        _suite(
            "mart_fct_orders",
            [
                profile_rows(),
                _zero("non_finite_amounts", "every amount is a finite number"),
                _zero("negative_net_revenue", "net_revenue is not negative"),
                _zero("net_above_gross", "net_revenue <= gross_revenue - discount (refunds only reduce it)"),
                _zero("future_orders", "no order is dated after today"),
            ],
            "fct_orders profile (one row).",
        ),
        _suite(
            "mart_dim_customers",
            [
                profile_rows(),
                _zero("bad_clv", "clv is finite and not negative"),
                _zero("bad_p_alive", "p_alive is between 0 and 1"),
                _zero("negative_net_revenue", "net_revenue is not negative"),
                _zero("bad_lifecycle_stage", f"lifecycle_stage is one of {', '.join(STAGES)}"),
                _zero("bad_value_tier", "value_tier is high, medium or low"),
            ],
            "dim_customers profile (one row).",
        ),
        _suite(
            "mart_customer_value",
            [
                profile_rows(),
                _zero("bad_clv", "clv is finite and not negative"),
                _zero("bad_p_alive", "p_alive is between 0 and 1"),
                _zero("bad_expected_purchases", "expected_purchases is finite and not negative"),
            ],
            "mart_customer_value profile (one row).",
        ),
        _suite(
            "mart_fct_customer_months",
            [
                _between("customers", 1, None, "every month has customers"),
                _non_negative("net_revenue"),
            ],
            "fct_customer_months aggregated per month.",
        ),
        _suite(
            "mart_fct_lifecycle_transitions",
            [
                profile_rows(),
                _zero("same_stage_transitions", "a transition changes the stage"),
                _zero("bad_from_stages", "from_stage is a known stage"),
            ],
            "fct_lifecycle_transitions profile (one row).",
        ),
        _suite(
            "mart_fct_tickets",
            [
                # A business without a help desk has no tickets: empty is only wrong when tickets were loaded.
                _zero("empty_despite_raw_tickets", "the mart is not empty when raw tickets were loaded"),
                _zero("negative_hours", "response and resolution hours are not negative"),
            ],
            "fct_tickets profile (one row).",
        ),
        _suite(
            "mart_relationship_health",
            [
                profile_rows(),
                _zero("bad_health_score", "health_score is between 0 and 100"),
            ],
            "mart_relationship_health profile (one row).",
        ),
        _suite(
            "mart_customer_flows",
            [
                *(_non_negative(c) for c in ("customers_start", "gained", "kept", "lost", "won_back")),
                _non_negative("customers_end"),
                _zero("balance_gap", "net_change = gained + won_back - lost"),
                _non_negative("acquisition_retention_ratio"),
            ],
            "mart_customer_flows rows.",
        ),
        _suite(
            "mart_retention_cohorts",
            [
                _rate("retention_rate"),
                _between("cohort_size", 1, None, "a cohort has at least one customer"),
                _zero("cohort_size_spread", "cohort_size is constant along a cohort"),
                _non_negative("net_revenue"),
                _non_negative("cumulative_revenue_per_customer"),
                _non_negative("revenue_retention"),
                _true("active_within_cohort", "active_customers <= cohort_size"),
            ],
            "mart_retention_cohorts rows.",
        ),
        _suite(
            "mart_customer_equity",
            [
                _non_negative("customers"),
                _true("equity_is_finite", "customer_equity is a finite number"),
                _non_negative("customer_equity"),
                _non_negative("cash_flow"),
                _true("roc_is_finite_or_null", "roc is a finite number (null in the first month)"),
            ],
            "mart_customer_equity rows.",
        ),
        _suite(
            "mart_relationship_health_summary",
            [
                _non_negative("customers"),
                _rate("retention_rate"),
                _rate("churn_share"),
            ],
            "mart_relationship_health_summary rows.",
        ),
        _suite(
            "mart_post_purchase_recovery",
            [
                _rate("repurchase_rate"),
                _rate("churn_share"),
                _true("counts_nest", "repurchased_customers <= observed_customers <= customers"),
            ],
            "mart_post_purchase_recovery rows.",
        ),
        _suite(
            "mart_lifecycle_funnel",
            [
                *(
                    _non_negative(c)
                    for c in ("leads", "contacts", "purchasers", "repeat_purchasers", "advocates")
                ),
                *(
                    _rate(c)
                    for c in (
                        "lead_to_contact_rate",
                        "contact_to_purchase_rate",
                        "purchase_to_repeat_rate",
                        "repeat_to_advocate_rate",
                    )
                ),
                *(
                    _non_negative(c)
                    for c in (
                        "median_days_lead_to_contact",
                        "median_days_contact_to_purchase",
                        "median_days_purchase_to_repeat",
                        "median_days_repeat_to_advocate",
                    )
                ),
                _true("steps_nest", "leads >= contacts >= purchasers >= repeat_purchasers >= advocates"),
            ],
            "mart_lifecycle_funnel rows.",
        ),
        _suite(
            "mart_retention_mix",
            [
                _non_negative("customers"),
                _rate("repurchase_rate"),
                _rate("churn_rate"),
                _true("counts_nest", "repurchased_customers and churned_customers <= customers"),
            ],
            "mart_retention_mix rows.",
        ),
        _suite(
            "mart_nps",
            [
                _between("nps", -100, 100, "nps is between -100 and 100"),
                _between("responses", 1, None, "a row has at least one response"),
                _true("categories_add_up", "promoters + passives + detractors = responses"),
            ],
            "mart_nps rows.",
        ),
        _suite(
            "mart_clv_backtest",
            [
                _between("customers", 1, None, "a bucket has at least one customer"),
                _non_negative("actual_purchases"),
                _non_negative("predicted_purchases"),
                _true("predicted_is_finite", "predicted_purchases is finite wherever the fit converged"),
            ],
            "mart_clv_backtest rows.",
        ),
    ]


def all_suites() -> list[ExpectationSuite]:
    return [*(raw_batch_suite(t) for t in RAW_TABLES), raw_load_suite(), *mart_suites()]


def suite_json(suite: ExpectationSuite) -> str:
    return json.dumps(suite.to_json_dict(), indent=2, sort_keys=True) + "\n"


def write_suites(directory: Path = SUITES_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for suite in all_suites():
        path = directory / f"{suite.name}.json"
        path.write_text(suite_json(suite))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_suites():
        print(p.relative_to(PROJECT_ROOT))
