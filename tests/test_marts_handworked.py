"""The marts on a tiny landing dataset whose every number was worked out by hand (arithmetic below).

Data: tests/fixtures/handworked/landing (real landing files per orchestration/lib/raw_schema.py), built
through the real Dagster job. as_of_date is not pinned by the job (build_through_dagster passes no run
config), so the data makes the default, the latest event, the date we want: Erin's order at
2024-12-15T18:00Z is the last event of any kind, so as_of_date = 2024-12-15 and December's month_end is
the 15th.

The people (contact id, channel of the *earliest* CRM version, first known):
  Alice  c-001 paid_search (a 2024-06 version says `email`: must not rewrite history), created 2024-01-05
  Bob    c-002 organic, created 2024-02-01; his first order is a guest checkout as "  BOB.smith@Mail.Test "
  Carol  c-003 email, created 2024-03-10; one order, exported completed then re-exported cancelled: prospect
  Dave   c-004 paid_search, created 2024-01-20; one order fully refunded (still completed, net 0)
  Erin   c-005 paid_search, created 2024-01-02; two orders on 2024-01-15 (one at 20:30-03:00 = 23:30Z)
  Gary   guest g-md5("guest.gary@mail.test"), channel unknown, first order 2024-11-20
  not customers: c-099 (is_internal, organic, a 500 USD order) and tester@example-internal.test (300 USD)
  fillers f-001..f-060 (`partner`, contacts_backfill-2022-07.csv, orders_backfill-2022-07-to-2023-06.jsonl,
  from make_fillers.py): buy only
    2022-07-01..2023-06-30, so all are churned from 2023-12 on (Dec 31 - Jun 30 = 184 > 180) with no orders
    in 2024: they change no 2024 flow, stage or cohort of the six. They exist because the six alone do not
    identify BG/NBD and Gamma-Gamma, and the equity mart (ROC) needs a fitted model. They move the first
    known month to 2022-07, so flows have 30 months per channel.

Completed orders (UTC date, USD net = (subtotal - discount) * rate - refunds, floored at 0):
  A1 Alice 2024-01-10  100 - 10                         = 90
  E1 Erin  2024-01-15   40                              = 40
  E2 Erin  2024-01-15   60 - 5                          = 55
  D1 Dave  2024-02-02   80, refund 93 (incl. tax+ship)  = max(0, 80 - 93) = 0
  B1 Bob   2024-02-14   50 EUR at 1.10 (rate of 02-01; the 1.20 of 02-15 is later) = 55, refund 10 EUR
                        on 03-20 at the order's rate 1.10 = 11, counted in February: 55 - 11 = 44
  E3 Erin  2024-03-02   20 (exported twice: once)       = 20
  B2 Bob   2024-03-31T22:00-05:00 = 2024-04-01 03:00 UTC: April, 30
  A2 Alice 2024-10-05   50
  G1 Gary  2024-11-20   70 (tax 7 and shipping 3 excluded)
  E4 Erin  2024-12-15   25
  C1 Carol 2024-05-05   cancelled by the later export; its refund of 35 is ignored.

Month ends as day of year 2024 (leap year): Jan31=31 Feb29=60 Mar31=91 Apr30=121 May31=152 Jun30=182
Jul31=213 Aug31=244 Sep30=274 Oct31=305 Nov30=335, as_of Dec15=350.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import build_through_dagster, settings_under
from independent_model import DATE_COLUMNS, build, frame_differences, read_raw

from orchestration.settings import Settings

LANDING = Path(__file__).parent / "fixtures" / "handworked" / "landing"
AS_OF = pd.Timestamp("2024-12-15")
GARY = "g-" + hashlib.md5(b"guest.gary@mail.test").hexdigest()
MONTHS = pd.date_range("2024-01-01", "2024-12-01", freq="MS")
FILLERS = 60
FLOW_MONTHS = 30  # 2022-07 .. 2024-12

# Stage per month, Jan..Dec 2024 ("-" = not known yet). d = days from the last completed order to month_end.
# Alice, last order A1 on day 10: d = 21 new, 50, 81 active, 111, 142, 172 at_risk, 203, 234, 264 churned;
#   A2 on Oct 5 (day 279) after a churned September: reactivated (d 26); Nov 56, Dec 71 active.
# Bob, B1 Feb 14 (day 45): new (d 15); Mar 46 active; B2 Apr 1 (day 92): d 29, May 60, Jun 90 (<= 90: active);
#   Jul 121, Aug 152 at_risk; Sep 182, Oct 213, Nov 243, Dec 258 churned.
# Carol: known from March (created Mar 10), her only order is cancelled: prospect to December.
# Dave, created Jan 20: Jan prospect; D1 Feb 2 (day 33) new (d 27); Mar 58, Apr 88 active; May 119, Jun 149,
#   Jul 180 (<= 180: at_risk) at_risk; Aug 211 ... Dec 317 churned.
# Erin, E1+E2 Jan 15 (day 15): new (d 16); Feb 45 active; E3 Mar 2 (day 62): Mar 29, Apr 59, May 90 active;
#   Jun 120, Jul 151 at_risk; Aug 182, Sep 212, Oct 243, Nov 273 churned; E4 Dec 15: reactivated (d 0).
# Gary: first known Nov 20 with an order: new (d 10); Dec 25 active.
STAGES = {
    "c-001": "new active active at_risk at_risk at_risk churned churned churned reactivated active active",
    "c-002": "- new active active active active at_risk at_risk churned churned churned churned",
    "c-003": "- - prospect prospect prospect prospect prospect prospect prospect prospect prospect prospect",
    "c-004": "prospect new active active at_risk at_risk at_risk churned churned churned churned churned",
    "c-005": "new active active active active at_risk at_risk churned churned churned churned reactivated",
    GARY: "- - - - - - - - - - new active",
}
# (customer, month) -> (completed orders, net revenue); every other customer-month is (0, 0).
ORDER_MONTHS = {
    ("c-001", "2024-01-01"): (1, 90.0),
    ("c-001", "2024-10-01"): (1, 50.0),
    ("c-002", "2024-02-01"): (1, 44.0),
    ("c-002", "2024-04-01"): (1, 30.0),
    ("c-004", "2024-02-01"): (1, 0.0),
    ("c-005", "2024-01-01"): (2, 95.0),
    ("c-005", "2024-03-01"): (1, 20.0),
    ("c-005", "2024-12-01"): (1, 25.0),
    (GARY, "2024-11-01"): (1, 70.0),
}
# Flows, channel `all`. live = new/active/at_risk/reactivated; start = live last month.
# Jan: Alice+Erin new. Feb: Bob+Dave new, Alice+Erin kept. Mar-Jun: the four kept.
# Jul: Alice churned (lost), Bob/Dave/Erin kept. Aug: Dave+Erin lost, Bob kept. Sep: Bob lost.
# Oct: Alice won back. Nov: Alice kept, Gary new. Dec: Alice+Gary kept, Erin won back.
# columns: customers_start, gained, kept, lost, won_back, customers_end, net_change, ratio (gained/lost)
FLOWS_ALL = """
2024-01-01 0 2 0 0 0 2  2 nan
2024-02-01 2 2 2 0 0 4  2 nan
2024-03-01 4 0 4 0 0 4  0 nan
2024-04-01 4 0 4 0 0 4  0 nan
2024-05-01 4 0 4 0 0 4  0 nan
2024-06-01 4 0 4 0 0 4  0 nan
2024-07-01 4 0 3 1 0 3 -1 0
2024-08-01 3 0 1 2 0 1 -2 0
2024-09-01 1 0 0 1 0 0 -1 0
2024-10-01 0 0 0 0 1 1  1 nan
2024-11-01 1 1 1 0 0 2  1 nan
2024-12-01 2 0 2 0 1 3  1 nan
"""
# paid_search (Alice, Dave, Erin): Feb start 2 (Alice, Erin), Dave new; Jul Alice lost, Dave+Erin kept;
# Aug Dave+Erin lost. email (Carol, a prospect throughout): zeros every month from January.
FLOWS_SOME = """
paid_search 2024-02-01 2 1 2 0 0 3  1 nan
paid_search 2024-07-01 3 0 2 1 0 2 -1 0
paid_search 2024-08-01 2 0 0 2 0 0 -2 0
paid_search 2024-12-01 1 0 1 0 1 2  1 nan
email       2024-01-01 0 0 0 0 0 0  0 nan
email       2024-12-01 0 0 0 0 0 0  0 nan
unknown     2024-11-01 0 1 0 0 0 1  1 nan
organic     2024-09-01 1 0 0 1 0 0 -1 0
"""
FLOW_COLUMNS = [
    "customers_start",
    "gained",
    "kept",
    "lost",
    "won_back",
    "customers_end",
    "net_change",
    "acquisition_retention_ratio",
]
# Cohorts. 2024-01: Alice + Erin (paid_search), offsets 0..11; revenue Jan 90+40+55=185, Mar 20 (Erin),
# Oct 50 (Alice), Dec 25 (Erin). 2024-02: Bob (organic) + Dave (paid_search), offsets 0..10; Feb 44+0=44,
# Apr 30 (Bob). 2024-11: Gary (unknown), offsets 0..1. Carol has no completed order: no cohort. c-099
# (organic, Feb) and the internal guest (Mar) must not appear.
# columns: cohort, channel, offset, size, active, rate, net revenue, cumulative/customer, revenue retention
COHORT_CELLS = """
2024-01-01 all          0 2 2 1.0 185 92.5  1
2024-01-01 all          2 2 1 0.5  20 102.5 0.10810810810810811
2024-01-01 all          5 2 0 0.0   0 102.5 0
2024-01-01 all          9 2 1 0.5  50 127.5 0.2702702702702703
2024-01-01 all         11 2 1 0.5  25 140.0 0.13513513513513514
2024-01-01 paid_search 11 2 1 0.5  25 140.0 0.13513513513513514
2024-02-01 all          0 2 2 1.0  44 22.0  1
2024-02-01 all          2 2 1 0.5  30 37.0  0.6818181818181818
2024-02-01 organic      2 1 1 1.0  30 74.0  0.6818181818181818
2024-02-01 paid_search  0 1 1 1.0   0 0.0   nan
2024-02-01 paid_search 10 1 0 0.0   0 0.0   nan
2024-11-01 unknown      1 1 0 0.0   0 70.0  0
"""
# cum: offset 2 = (185 + 0 + 20) / 2; offset 9 = (205 + 50) / 2; offset 11 = (255 + 25) / 2;
# Feb offset 0 = 44 / 2, offset 2 = (44 + 30) / 2; organic = 74 / 1. Revenue retention: 20/185, 50/185,
# 25/185, 30/44; null for Dave's cohort cell because its offset-0 revenue is 0.
COHORT_COLUMNS = [
    "cohort_month",
    "acquisition_channel",
    "month_offset",
    "cohort_size",
    "active_customers",
    "retention_rate",
    "net_revenue",
    "cumulative_revenue_per_customer",
    "revenue_retention",
]
# Rows: cohort 2024-01 x {paid_search, all} x 12 offsets (Jan..Dec) + 2024-02 x {organic, paid_search, all}
# x 11 + 2024-11 x {unknown, all} x 2.
COHORT_ROWS = 24 + 33 + 4


def parse(table: str, columns: list[str]) -> pd.DataFrame:
    rows = [line.split() for line in table.strip().splitlines()]
    frame = pd.DataFrame(rows, columns=columns)
    for col in columns:
        if col in DATE_COLUMNS:
            frame[col] = pd.to_datetime(frame[col])
        elif col != "acquisition_channel":
            frame[col] = frame[col].astype(float)
    return frame


def expected_customer_months() -> pd.DataFrame:
    rows = []
    for customer, stages in STAGES.items():
        for month, stage in zip(MONTHS, stages.split(), strict=True):
            if stage != "-":
                orders, net = ORDER_MONTHS.get((customer, month.strftime("%Y-%m-%d")), (0, 0.0))
                rows.append((customer, month, stage, orders, net))
    return pd.DataFrame(
        rows, columns=["customer_id", "month_start", "lifecycle_stage", "orders", "net_revenue"]
    )


def read_mart(settings: Settings, name: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.sql(f"select * from marts.{name}").df()


def assert_same(expected: pd.DataFrame, actual: pd.DataFrame, keys: list[str], exact=(), approx=()) -> None:
    problems = frame_differences(expected, actual, keys, list(exact), list(approx))
    assert not problems, "\n\n".join(problems)


@pytest.fixture(scope="module")
def handworked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, list[str]]]:
    """The hand-worked landing directory built through the real Dagster job; yields the step failures too."""
    settings = settings_under(tmp_path_factory.mktemp("handworked"), landing_dir=LANDING)
    result = build_through_dagster(settings)
    yield settings, [e.message for e in result.all_events if e.is_step_failure]


@pytest.fixture(scope="module")
def warehouse(handworked: tuple[Settings, list[str]]) -> Settings:
    return handworked[0]


@pytest.mark.slow
def test_the_handworked_landing_builds_without_failures(handworked):
    assert handworked[1] == []


@pytest.mark.slow
def test_stage_orders_and_revenue_of_every_customer_in_every_month(warehouse):
    actual = read_mart(warehouse, "fct_customer_months")
    fillers = actual[actual["customer_id"].str.startswith("f-")]
    assert fillers["customer_id"].nunique() == FILLERS
    late = fillers[pd.to_datetime(fillers["month_start"]) >= pd.Timestamp("2023-12-01")]
    assert len(late) == FILLERS * 13
    assert set(late["lifecycle_stage"]) == {"churned"} and late["orders"].sum() == 0
    assert_same(
        expected_customer_months(),
        actual[~actual["customer_id"].str.startswith("f-")],
        ["customer_id", "month_start"],
        exact=["lifecycle_stage", "orders"],
        approx=["net_revenue"],
    )


@pytest.mark.slow
def test_month_end_is_as_of_in_its_own_month_and_days_since_last_order(warehouse):
    cm = read_mart(warehouse, "fct_customer_months").set_index(["customer_id", "month_start"]).sort_index()
    assert pd.Timestamp(cm["month_end"].max()) == AS_OF
    # d at the boundaries: Bob Jun 30 - Apr 1 = 90 (active), Dave Jul 31 - Feb 2 = 180 (at_risk),
    # Alice Dec 15 - Oct 5 = 71, Erin on the day of her order 0; Carol never ordered: null.
    for customer, month, days, stage in [
        ("c-002", "2024-06-01", 90, "active"),
        ("c-004", "2024-07-01", 180, "at_risk"),
        ("c-001", "2024-12-01", 71, "active"),
        ("c-005", "2024-12-01", 0, "reactivated"),
    ]:
        row = cm.loc[(customer, pd.Timestamp(month))]
        assert (row["days_since_last_order"], row["lifecycle_stage"]) == (days, stage), (customer, month)
    assert pd.isna(cm.loc[("c-003", pd.Timestamp("2024-05-01")), "days_since_last_order"])
    # The channel is the earliest version's: Alice stays paid_search although her 2024-06 version says email.
    assert set(cm.loc["c-001", "acquisition_channel"]) == {"paid_search"}
    assert set(cm.loc[GARY, "acquisition_channel"]) == {"unknown"}


@pytest.mark.slow
def test_customer_flows_by_hand(warehouse):
    actual = read_mart(warehouse, "mart_customer_flows")
    expected_all = parse(FLOWS_ALL, ["month_start", *FLOW_COLUMNS]).assign(acquisition_channel="all")
    keys = ["month_start", "acquisition_channel"]
    in_2024 = actual[pd.to_datetime(actual["month_start"]) >= MONTHS[0]]
    assert_same(
        expected_all,
        in_2024[in_2024["acquisition_channel"] == "all"],
        keys,
        exact=FLOW_COLUMNS[:-1],
        approx=FLOW_COLUMNS[-1:],
    )
    some = parse(FLOWS_SOME, ["acquisition_channel", "month_start", *FLOW_COLUMNS])
    chosen = actual.merge(some[keys], on=keys)
    assert_same(some, chosen, keys, exact=FLOW_COLUMNS[:-1], approx=FLOW_COLUMNS[-1:])
    # Every channel of a customer gets a row in every month from 2022-07 (first known: a filler) to 2024-12.
    per_channel = actual.groupby("acquisition_channel")["month_start"].agg(["nunique", "size"])
    channels = ("all", "email", "organic", "paid_search", "partner", "unknown")
    assert per_channel.to_dict("index") == {
        c: {"nunique": FLOW_MONTHS, "size": FLOW_MONTHS} for c in channels
    }


@pytest.mark.slow
def test_retention_cohort_cells_by_hand(warehouse):
    actual = read_mart(warehouse, "mart_retention_cohorts")
    cells = parse(COHORT_CELLS, COHORT_COLUMNS)
    keys = ["cohort_month", "acquisition_channel", "month_offset"]
    chosen = actual.assign(cohort_month=pd.to_datetime(actual["cohort_month"])).merge(cells[keys], on=keys)
    assert_same(
        cells,
        chosen,
        keys,
        exact=["cohort_size", "active_customers"],
        approx=["retention_rate", "net_revenue", "cumulative_revenue_per_customer", "revenue_retention"],
    )
    cohort_month = pd.to_datetime(actual["cohort_month"])
    assert set(actual.loc[cohort_month < MONTHS[0], "acquisition_channel"]) == {"partner", "all"}
    in_2024 = actual[cohort_month >= MONTHS[0]]
    rows = in_2024.groupby([pd.to_datetime(in_2024["cohort_month"]), "acquisition_channel"]).size()
    assert rows.to_dict() == {
        (pd.Timestamp(cohort), channel): offsets
        for cohort, channels, offsets in [
            ("2024-01-01", ("all", "paid_search"), 12),
            ("2024-02-01", ("all", "organic", "paid_search"), 11),
            ("2024-11-01", ("all", "unknown"), 2),
        ]
        for channel in channels
    }


@pytest.mark.slow
def test_return_on_customer_for_october_and_november(warehouse):
    """ROC over the customers on the books at the start of the month, by hand, from the mart's own equity.

    October: cash flow Alice's A2, 50 (paid_search); organic (Bob) and partner (fillers) 0. On the books at
    Oct 1 (a completed order before it): Alice, Bob, Dave, Erin (paid_search 3, organic 1) and the 60 fillers
    = 64; nobody new (Gary only from November; c-099 never). ROC = (50 + equity(Oct 31) - equity(Sep 30)) /
    equity(Sep 30), and the acquisition contribution is 0.
    November: only Gary buys (G1, 70, guest: channel unknown), his first order, so he is the month's
    acquisition: 70 + his equity at Nov 30 (the `unknown` channel's equity, he is its only customer). The
    64 on the books paid nothing: ROC = (0 + equity(Nov 30) - Gary's - equity(Oct 31)) / equity(Oct 31).
    """
    equity = read_mart(warehouse, "mart_customer_equity")
    equity["month_end"] = pd.to_datetime(equity["month_end"])
    by = equity.set_index(["acquisition_channel", "month_end"]).sort_index()
    sep, oct_, nov = pd.Timestamp("2024-09-30"), pd.Timestamp("2024-10-31"), pd.Timestamp("2024-11-30")
    for channel, cash, customers in [
        ("all", 50.0, 4 + FILLERS),
        ("paid_search", 50.0, 3),
        ("organic", 0.0, 1),
        ("partner", 0.0, FILLERS),
    ]:
        start, end = by.loc[(channel, sep), "customer_equity"], by.loc[(channel, oct_), "customer_equity"]
        row = by.loc[(channel, oct_)]
        assert (row["customers"], row["customers_start"], row["new_customers"]) == (customers, customers, 0)
        assert row["cash_flow"] == pytest.approx(cash, abs=1e-9), channel
        assert row["retained_cash_flow"] == pytest.approx(cash, abs=1e-9), channel
        assert row["acquisition_contribution"] == pytest.approx(0.0, abs=1e-9), channel
        assert start > 0, channel
        assert row["equity_start"] == pytest.approx(start, rel=1e-12), channel
        assert row["equity_change"] == pytest.approx(end - start, rel=1e-6, abs=1e-9), channel
        assert row["roc"] == pytest.approx((cash + end - start) / start, rel=1e-6), channel

    gary = by.loc[("unknown", nov), "customer_equity"]
    assert gary > 0 and by.loc[("unknown", oct_), "customers"] == 0
    november, october = by.loc[("all", nov)], by.loc[("all", oct_)]
    assert (november["customers"], november["customers_start"], november["new_customers"]) == (65, 64, 1)
    assert november["retained_cash_flow"] == pytest.approx(0.0, abs=1e-9)
    assert november["acquisition_cash_flow"] == pytest.approx(70.0, abs=1e-9)
    assert november["acquisition_equity"] == pytest.approx(gary, rel=1e-9)
    assert november["acquisition_contribution"] == pytest.approx(70.0 + gary, rel=1e-9)
    start = october["customer_equity"]
    assert november["roc"] == pytest.approx((november["customer_equity"] - gary - start) / start, rel=1e-6)
    unknown = by.loc[("unknown", nov)]
    assert unknown["equity_start"] == 0 and pd.isna(unknown["roc"])  # nobody of that channel on the books

    # Monthly cash flows of the whole base: Jan 90+40+55, Feb 44+0 (c-099's 500 excluded), Mar 20,
    # Apr 30 (Bob's order placed Mar 31 at -05:00), May..Sep 0 (Carol's order cancelled), Nov 70, Dec 25.
    cash_by_month = equity[equity["acquisition_channel"] == "all"].set_index("month_end")["cash_flow"]
    cash_by_month.index = cash_by_month.index.to_period("M").astype(str)
    expected_cash = {"2024-01": 185.0, "2024-02": 44.0, "2024-03": 20.0, "2024-04": 30.0, "2024-05": 0.0}
    expected_cash |= {"2024-09": 0.0, "2024-10": 50.0, "2024-11": 70.0, "2024-12": 25.0}
    for month, cash in expected_cash.items():
        assert cash_by_month[month] == pytest.approx(cash, abs=1e-9), month


@pytest.mark.slow
def test_the_independent_pandas_model_reproduces_the_hand_numbers(warehouse):
    """The checker used on the sample (independent_model.py) agrees with the hand arithmetic here."""
    model = build(read_raw(Path(warehouse.duckdb_path)))
    assert model.as_of_date == AS_OF
    six = model.customer_months[~model.customer_months["customer_id"].str.startswith("f-")]
    assert_same(
        expected_customer_months(),
        six,
        ["customer_id", "month_start"],
        exact=["lifecycle_stage", "orders"],
        approx=["net_revenue"],
    )
    flows = model.flows[model.flows["month_start"] >= MONTHS[0]]
    assert_same(
        parse(FLOWS_ALL, ["month_start", *FLOW_COLUMNS]).assign(acquisition_channel="all"),
        flows[flows["acquisition_channel"] == "all"],
        ["month_start", "acquisition_channel"],
        exact=FLOW_COLUMNS[:-1],
        approx=FLOW_COLUMNS[-1:],
    )
    cells = parse(COHORT_CELLS, COHORT_COLUMNS)
    keys = ["cohort_month", "acquisition_channel", "month_offset"]
    assert_same(
        cells,
        model.cohorts.merge(cells[keys], on=keys),
        keys,
        exact=["cohort_size", "active_customers"],
        approx=COHORT_COLUMNS[5:],
    )
    assert (model.cohorts["cohort_month"] >= MONTHS[0]).sum() == COHORT_ROWS
