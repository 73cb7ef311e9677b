"""Report sections: the lifecycle funnel and the retention mix (see DECISIONS.md).

Aggregated in DuckDB from the published marts; Python lays out a handful of bars.
"""

from __future__ import annotations

from html import escape

import duckdb

from orchestration.lib.serving import charts

HALF = 620  # px: two charts side by side, as in report.py

FUNNEL_STEPS = [
    ("awareness (lead)", "leads"),
    ("contact", "contacts"),
    ("purchase", "purchasers"),
    ("second purchase", "repeat_purchasers"),
    ("advocacy (referred someone)", "advocates"),
]
# Entry point: its colour and the first step it measures (its funnel_start).
ENTRY_POINTS = {"lead": ("#1f77b4", 0), "contact": ("#ff7f0e", 1), "guest": ("#9ca3af", 2)}
LEVERS = {
    "account_manager": "account manager",
    "loyalty_promo": "loyalty promo",
    "campaign_touch": "campaign touch",
    "post_purchase_ticket_solved_within_target": "ticket solved in target",
}
GROUPS = (("exposed", True, "#2ca02c"), ("not exposed", False, "#9ca3af"))


def lifecycle_funnel(con: duckdb.DuckDBPyConnection) -> str:
    """People at each step over all cohorts (channel 'all'), stacked by entry point; the step conversion."""
    sums = ", ".join(f"coalesce(sum({column}), 0)" for _, column in FUNNEL_STEPS)
    rows = con.execute(
        f"select entry_point, {sums} from marts.mart_lifecycle_funnel where acquisition_channel = 'all' "
        "group by 1"
    ).fetchall()
    counts = {r[0]: [int(v) for v in r[1:]] for r in rows if r[0] in ENTRY_POINTS}
    if not counts:
        return ""
    first = min(ENTRY_POINTS[e][1] for e in counts)  # without leads (or a CRM) the funnel starts later
    steps = [name for name, _ in FUNNEL_STEPS[first:]]
    series = [
        (f"entered as {e}", [float(v) for v in counts[e][first:]], ENTRY_POINTS[e][0])
        for e in ENTRY_POINTS
        if e in counts
    ]
    svg = charts.diverging_bars(steps, up=series, down=[], line=None, label="lifecycle funnel")
    lines = []
    for i in range(first, len(FUNNEL_STEPS)):
        people = sum(c[i] for c in counts.values())
        # From the step before, over the entry points that measure both steps (guests have no contact step).
        came = [e for e in counts if ENTRY_POINTS[e][1] < i]
        before = sum(counts[e][i - 1] for e in came)
        rate = f"{sum(counts[e][i] for e in came) / before:.0%}" if before else ""
        lines.append(f"<tr><td>{escape(FUNNEL_STEPS[i][0])}</td><td>{people:,}</td><td>{rate}</td></tr>")
    note = (
        f'<p class="what">No CRM leads or contacts in this build: the funnel starts at {escape(steps[0])}.'
        "</p>"
        if first == ENTRY_POINTS["guest"][1]
        else ""
    )
    return (
        note
        + svg
        + charts.legend([(name, colour) for name, _, colour in series])
        + "<table><tr><th>step</th><th>people</th><th>reached it from the step before</th></tr>"
        + "".join(lines)
        + "</table>"
    )


def retention_mix(con: duckdb.DuckDBPyConnection) -> str:
    """Exposed vs not exposed per lever: repurchase (months whose window is observed) and churn, pooled."""
    rows = con.execute(
        """
        select lever, is_exposed, sum(customers),
               sum(repurchased_customers) filter (where is_window_observed)
                   / nullif(sum(customers) filter (where is_window_observed), 0),
               sum(churned_customers) / nullif(sum(customers), 0)
        from marts.mart_retention_mix group by 1, 2
        """
    ).fetchall()
    stats = {(r[0], r[1]): (int(r[2]), *(None if v is None else float(v) for v in r[3:])) for r in rows}
    levers = [lever for lever in LEVERS if (lever, True) in stats or (lever, False) in stats]
    if not levers:
        return ""

    def group(lever: str, exposed: bool) -> tuple:
        return stats.get((lever, exposed), (0, None, None))

    labels = [LEVERS[lever] for lever in levers]
    parts = []
    for title, k in (("repurchased within the window", 1), ("churned in the month", 2)):
        series = [(name, [group(lever, exposed)[k] for lever in levers], c) for name, exposed, c in GROUPS]
        svg = charts.grouped_bars(labels, series, charts.percent, f"retention mix: {title}", width=HALF)
        parts.append(f'<div style="flex:1;min-width:0"><h3 class="what">{title}</h3>{svg}</div>')

    def pct(v: float | None) -> str:
        return "" if v is None else f"{v:.0%}"

    table = "".join(
        f"<tr><td>{escape(LEVERS[lever])}</td>"
        + "".join(f"<td>{group(lever, e)[0]:,}</td>" for _, e, _ in GROUPS)
        + "".join(f"<td>{pct(group(lever, e)[k])}</td>" for k in (1, 2) for _, e, _ in GROUPS)
        + "</tr>"
        for lever in levers
    )
    return (
        '<div class="pair">'
        + "".join(parts)
        + "</div>"
        + charts.legend([(name, c) for name, _, c in GROUPS])
        + "<table><tr><th>lever</th><th>customer-months exposed</th><th>not exposed</th>"
        + "<th>repurchased, exposed</th><th>not exposed</th>"
        + "<th>churned, exposed</th><th>not exposed</th></tr>"
        + table
        + "</table>"
    )
