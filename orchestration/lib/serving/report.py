"""The visual report: one self-contained HTML page (inline SVG and CSS) regenerated with every publish.

It reads the published serving file, so it shows exactly what BI sees. Every number is aggregated in
DuckDB; Python only lays out a few hundred points.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import duckdb

from orchestration.lib.serving import charts
from orchestration.lib.serving.report_funnel_mix import lifecycle_funnel, retention_mix

HALF = 620  # px: two charts side by side

STAGES = [
    ("prospect", "#d1d5db"),
    ("new", "#2ca02c"),
    ("active", "#1f77b4"),
    ("reactivated", "#9467bd"),
    ("at_risk", "#ff7f0e"),
    ("churned", "#d62728"),
]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px 40px;color:#111827}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 2px} h3.what{margin-top:20px}
.meta{color:#6b7280;font-size:13px} .what{color:#374151;font-size:13px;margin:2px 0 8px;max-width:1100px}
section{border-top:1px solid #e5e7eb;margin-top:12px} .empty{color:#9ca3af;font-style:italic}
.legend{font-size:12px;color:#374151;margin:4px 0} .legend span{margin-right:14px;white-space:nowrap}
.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;font-size:12px}
td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #f3f4f6}
td:first-child,th:first-child{text-align:left}
.pair{display:flex;gap:24px} .pair section{flex:1;min-width:0}
"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _has(con: duckdb.DuckDBPyConnection, mart: str) -> bool:
    return bool(
        _rows(
            con,
            "select 1 from information_schema.tables where table_schema = 'marts' and table_name = ?",
            [mart],
        )
    )


def _month(d) -> str:
    return d.strftime("%Y-%m")


def retention_heatmap(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        "select cohort_month, month_offset, retention_rate, cohort_size from marts.mart_retention_cohorts "
        "where acquisition_channel = 'all' and retention_rate is not null order by 1, 2",
    )
    if not rows:
        return ""
    cohorts = sorted({r[0] for r in rows})
    offsets = list(range(max(r[1] for r in rows) + 1))
    index = {c: i for i, c in enumerate(cohorts)}
    size = {r[0]: r[3] for r in rows}
    cells = {(index[c], k): float(rate) for c, k, rate, _ in rows}
    labels = [f"{_month(c)} (n={size[c]:,})" for c in cohorts]
    return charts.heatmap(labels, [str(k) for k in offsets], cells, "retention by cohort and month offset")


def customer_flows(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        "select month_start, gained, won_back, lost, net_change from marts.mart_customer_flows "
        "where acquisition_channel = 'all' order by 1",
    )
    if not rows:
        return ""
    x = [_month(r[0]) for r in rows]
    col = lambda i: [float(r[i] or 0) for r in rows]  # noqa: E731
    svg = charts.diverging_bars(
        x,
        up=[("gained", col(1), "#2ca02c"), ("won back", col(2), "#9467bd")],
        down=[("lost", col(3), "#d62728")],
        line=("net change", col(4), "#111827"),
        label="customers gained, won back and lost per month",
    )
    return svg + charts.legend(
        [
            ("gained (new)", "#2ca02c"),
            ("won back", "#9467bd"),
            ("lost (became churned)", "#d62728"),
            ("net", "#111827"),
        ]
    )


def equity_and_roc(con: duckdb.DuckDBPyConnection) -> str:
    # The `all` rows when the mart has them, else the channels summed and ROC recomputed from the sums.
    rows = _rows(
        con,
        """
        select month_end, bool_or(is_partial_month), sum(customer_equity), sum(cash_flow),
               (sum(retained_cash_flow) + sum(retained_equity_end) - sum(equity_start))
                   / nullif(sum(equity_start), 0) as roc,
               sum(acquisition_contribution)
        from marts.mart_customer_equity
        where (acquisition_channel = 'all')
            = (select coalesce(bool_or(acquisition_channel = 'all'), false) from marts.mart_customer_equity)
        group by month_end order by month_end
        """,
    )
    if not rows:
        return ""
    # A partial as_of_date month is marked: its cash flow covers only the days up to as_of_date.
    x = [_month(r[0]) + (" *" if r[1] else "") for r in rows]
    equity = charts.line_chart(
        x,
        [
            ("customer equity", [float(r[2] or 0) for r in rows], "#1f77b4"),
            ("cash flow", [float(r[3] or 0) for r in rows], "#2ca02c"),
        ],
        charts.number,
        "customer equity and cash flow",
    )
    roc = charts.signed_bars(
        x,
        [None if r[4] is None else float(r[4]) for r in rows],
        charts.percent,
        "return on customer",
        height=180,
        series="roc",
    )
    acquisition = charts.signed_bars(
        x,
        [float(r[5] or 0) for r in rows],
        charts.number,
        "acquisition contribution",
        height=180,
        series="acquisition contribution",
    )
    return (
        equity
        + charts.legend(
            [("customer equity at month end", "#1f77b4"), ("cash flow (net revenue x margin)", "#2ca02c")]
        )
        + '<h3 class="what">Return on Customer (ROC) per month, customers on the books at its start</h3>'
        + roc
        + '<h3 class="what">Acquisition contribution per month: new customers\' cash flow + equity</h3>'
        + acquisition
    )


def clv_by_channel(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        # As double: quantiles of a DECIMAL column would be cut to its scale.
        "select acquisition_channel, count(*), quantile_cont(clv::double, [0.1, 0.25, 0.5, 0.75, 0.9]), "
        "avg(clv::double) from marts.mart_customer_value where clv is not null group by 1 order by 1",
    )
    if not rows:
        return ""
    table = "".join(
        f"<tr><td>{escape(str(r[0]))}</td><td>{r[1]:,}</td><td>{r[2][2]:,.2f}</td><td>{r[3]:,.2f}</td></tr>"
        for r in rows
    )
    svg = charts.box_plot(
        [str(r[0]) for r in rows],
        [[float(v) for v in r[2]] + [float(r[3])] for r in rows],
        charts.number,
        "CLV distribution by acquisition channel",
        width=HALF,
    )
    return (
        svg
        + '<p class="what">Box: 25th-75th percentile, thick line: median, whiskers: 10th-90th, dot: mean.</p>'
        + "<table><tr><th>channel</th><th>customers</th><th>median CLV</th><th>mean CLV</th></tr>"
        + f"{table}</table>"
    )


def lifecycle_mix(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        "select month_start, lifecycle_stage, count(*) from marts.fct_customer_months "
        "group by 1, 2 order by 1",
    )
    if not rows:
        return ""
    months = sorted({r[0] for r in rows})
    counts = {(r[0], r[1]): r[2] for r in rows}
    known = [s for s, _ in STAGES]
    extra = sorted({r[1] for r in rows} - set(known))
    stages = STAGES + [(s, charts.PALETTE[i % len(charts.PALETTE)]) for i, s in enumerate(extra)]
    series = [(s, [float(counts.get((m, s), 0)) for m in months], c) for s, c in stages]
    return charts.stacked_shares([_month(m) for m in months], series, "lifecycle stage mix") + charts.legend(
        [(s, c) for s, c in stages]
    )


def post_purchase_recovery(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        """
        select resolution_bucket, sum(customers),
               sum(repurchased_customers) / nullif(sum(observed_customers), 0) as repurchase_rate,
               sum(churned_customers) / nullif(sum(customers), 0) as churn_share
        from marts.mart_post_purchase_recovery group by 1
        order by case resolution_bucket when 'fast' then 1 when 'slow' then 2 when 'very_slow' then 3
                 when 'unsolved' then 4 else 5 end, 1
        """,
    )
    if not rows:
        return ""
    labels = [f"{r[0]} (n={r[1]:,})" for r in rows]
    as_float = lambda v: None if v is None else float(v)  # noqa: E731
    series = [
        ("repurchased within the window", [as_float(r[2]) for r in rows], "#2ca02c"),
        ("churned now", [as_float(r[3]) for r in rows], "#d62728"),
    ]
    svg = charts.grouped_bars(labels, series, charts.percent, "post-purchase recovery", width=HALF)
    return svg + charts.legend([(name, color) for name, _, color in series])


def nps_by_month(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        "select month_start, nps, responses from marts.mart_nps where segment_type = 'all' "
        "order by month_start",
    )
    if not rows:
        return ""
    labels = [f"{_month(r[0])} (n={r[2]:,})" for r in rows]
    return charts.signed_bars(labels, [float(r[1]) for r in rows], charts.number, "NPS by month", width=HALF)


def clv_backtest(con: duckdb.DuckDBPyConnection) -> str:
    """The calibration-vs-holdout plot at the latest cutoff, and the total error at every cutoff."""
    buckets = _rows(
        con,
        """select frequency_bucket, customers, actual_per_customer, predicted_per_customer, cutoff_date,
                  holdout_end_date
           from marts.mart_clv_backtest
           where frequency_bucket <> 'all'
             and cutoff_date = (select max(cutoff_date) from marts.mart_clv_backtest)
           order by frequency_min""",
    )
    if not buckets:
        return ""
    as_float = lambda v: None if v is None else float(v)  # noqa: E731
    series = [
        ("actual", [as_float(r[2]) for r in buckets], "#1f77b4"),
        ("predicted (BG/NBD)", [as_float(r[3]) for r in buckets], "#ff7f0e"),
    ]
    labels = [f"{r[0]} (n={r[1]:,})" for r in buckets]
    title = f"purchase days per customer, {buckets[0][4]} to {buckets[0][5]}, by purchase days before"
    svg = charts.grouped_bars(labels, series, charts.number, title, width=HALF)
    totals = _rows(
        con,
        """select cutoff_date, holdout_end_date, customers, actual_purchases, predicted_purchases,
                  relative_error
           from marts.mart_clv_backtest where frequency_bucket = 'all' order by cutoff_date""",
    )
    cell = lambda v, f: "" if v is None else f(v)  # noqa: E731
    table = "<table><tr><th>cutoff</th><th>holdout to</th><th>customers</th><th>actual</th><th>predicted</th>"
    table += "<th>error</th></tr>" + "".join(
        f"<tr><td>{c}</td><td>{h}</td><td>{n:,}</td><td>{a:,}</td><td>{cell(p, lambda v: f'{v:,.0f}')}</td>"
        f"<td>{cell(e, charts.percent)}</td></tr>"
        for c, h, n, a, p, e in totals
    )
    return svg + charts.legend([(name, color) for name, _, color in series]) + table + "</table>"


SECTIONS: list[tuple[str, str, str, Callable[[duckdb.DuckDBPyConnection], str]]] = [
    (
        "mart_retention_cohorts",
        "Retention cohorts",
        "Share of each monthly cohort (customers by month of first completed order) with a completed order "
        "k months later. Columns are months since the first order; darker is higher.",
        retention_heatmap,
    ),
    (
        "mart_customer_flows",
        "Customers gained vs lost",
        "Per month: customers gained (first order) and won back (reactivated) above the line, customers "
        "lost (became churned) below it, and the net change. A widening gap means the base is leaking.",
        customer_flows,
    ),
    (
        "mart_lifecycle_funnel",
        "Lifecycle funnel: awareness to advocacy",
        "People at each step of the lifecycle, every cohort summed: leads (awareness), contacts, a first "
        "purchase, a second purchase day (experience to loyalty), a referral of another customer (advocacy). "
        "Stacked by where people entered: as a CRM lead, as a contact that never was a lead, or as a guest "
        "at the purchase; a step counts only after the one before it.",
        lifecycle_funnel,
    ),
    (
        "mart_retention_mix",
        "Retention mix: exposed vs not exposed, per lever",
        "Customers live at the start of each month, split by whether a lever reached them before it: an "
        "account manager, a LOYAL promo code or a CRM campaign touch in the 90 days before, a post-purchase "
        "ticket solved within target (compared only among customers with such a ticket). Pooled over "
        "months. An association, not an effect: levers are not assigned at random (account managers go to "
        "bigger accounts, loyalty codes to frequent buyers), so a gap mixes the lever with who receives it.",
        retention_mix,
    ),
    (
        "mart_customer_equity",
        "Customer equity and Return on Customer",
        "Customer equity is the sum of expected future value (CLV over the next 12 months, after margin) of "
        "all customers at each month end. ROC is the return on the customers already on the books when the "
        "month starts: (their cash flow in the month + their equity at its end - their equity at its start) "
        "/ their equity at its start, a monthly rate on a 12-month equity (not annualised). Good revenue can "
        "hide destroyed equity. Customers won in the month are no return on last month's equity: their cash "
        "flow and their equity at month end are the acquisition contribution, shown below ROC. Cash flow "
        "and equity are both after the margin. A month marked * is partial (up to as_of_date).",
        equity_and_roc,
    ),
    (
        "fct_customer_months",
        "Lifecycle stage mix",
        "Share of known customers in each lifecycle stage, month by month.",
        lifecycle_mix,
    ),
    (
        "mart_customer_value",
        "Customer lifetime value by acquisition channel",
        "Distribution of 12-month CLV (BG/NBD + Gamma-Gamma) of customers with a completed order, per "
        "acquisition channel.",
        clv_by_channel,
    ),
    (
        "mart_post_purchase_recovery",
        "Post-purchase recovery",
        "Customers by how fast their first post-purchase ticket was solved: share who bought again within "
        "the repurchase window (of those observed that long) and share churned now.",
        post_purchase_recovery,
    ),
    (
        "mart_nps",
        "Net Promoter Score",
        "NPS of each month's survey responses: % promoters (9-10) - % detractors (0-6), from -100 to 100; "
        "n is the number of responses. Months without responses are not shown.",
        nps_by_month,
    ),
    (
        "mart_clv_backtest",
        "Can the CLV model be trusted? Backtest",
        "The purchase model (BG/NBD) fitted on the data up to a past month end predicts each customer's "
        "purchase days over the following months; bars compare prediction and what happened, per customer, "
        "grouped by purchase days before the cutoff (the latest cutoff). The table: every cutoff in total; "
        "error = (predicted - actual) / actual.",
        clv_backtest,
    ),
]


def render_report(con: duckdb.DuckDBPyConnection) -> str:
    build = _rows(con, "select build_id, as_of_date, created_at from _build")
    build_id, as_of, created = build[0] if build else ("unpublished", None, datetime.now(UTC))
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Customer retention report {escape(str(as_of))}</title><style>{CSS}</style></head><body>",
        "<h1>Are we keeping the customers we win?</h1>",
        f'<p class="meta">As of {escape(str(as_of))} &middot; build {escape(str(build_id))} &middot; '
        f"published {escape(str(created))[:19]} UTC</p>",
    ]
    for i, (mart, title, what, draw) in enumerate(SECTIONS):
        body = draw(con) if _has(con, mart) else ""
        if i == len(SECTIONS) - 2:
            parts.append('<div class="pair">')  # the last two are half width, side by side
        parts.append(f'<section id="{mart}"><h2>{escape(title)}</h2><p class="what">{escape(what)}</p>')
        parts.append(body or f'<p class="empty">No data in marts.{mart} for this build.</p>')
        parts.append("</section>")
    parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(serving_db: Path, out: Path) -> Path:
    with duckdb.connect(str(serving_db), read_only=True) as con:
        html = render_report(con)
    out.write_text(html, encoding="utf-8")
    return out
