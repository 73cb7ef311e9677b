"""The frame each mart suite validates, computed in DuckDB.

Only what dbt's tests do not already assert: grain (unique, unique_combination), not-null keys and
accepted values are dbt tests in the models' YAML (expectations/README.md, "Where each check lives").

Small marts (a row per month, cohort or band) are handed over whole, with a few derived columns. Big
marts (a row per customer, order or customer-month: millions at scale) are reduced in SQL to a one-row
profile of violation counts, or one row per month, so no big table is ever pulled into pandas.
"""

from __future__ import annotations

from orchestration.lib.quality.gx_checks import SqlFrame
from orchestration.lib.quality.suites import MONEY_TOLERANCE, STAGES, VALUE_TIERS


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _bad(column: str, low: float | None = None, high: float | None = None) -> str:
    """Rows where a number is NaN/infinite or out of [low, high] (nulls are not counted)."""
    out = [f"not isfinite({column})"]
    if low is not None:
        out.append(f"{column} < {low}")
    if high is not None:
        out.append(f"{column} > {high}")
    return f"count(*) filter ({column} is not null and ({' or '.join(out)}))"


MART_FRAMES: dict[str, tuple[str, SqlFrame]] = {
    # suite name: (dbt model / asset key, frame)
    "mart_fct_orders": (
        "fct_orders",
        SqlFrame(
            f"""select count(*) as rows,
                count(*) filter (
                    not isfinite(gross_revenue) or not isfinite(net_revenue)
                    or not isfinite(coalesce(discount, 0)) or not isfinite(coalesce(refunds, 0))
                ) as non_finite_amounts,
                count(*) filter (net_revenue < 0) as negative_net_revenue,
                count(*) filter (net_revenue > gross_revenue - coalesce(discount, 0) + {MONEY_TOLERANCE})
                    as net_above_gross,
                count(*) filter (order_date > current_date) as future_orders
            from marts.fct_orders""",
            "marts.fct_orders profile",
        ),
    ),
    "mart_dim_customers": (
        "dim_customers",
        SqlFrame(
            f"""select count(*) as rows,
                {_bad("clv", 0)} as bad_clv,
                {_bad("p_alive", 0, 1)} as bad_p_alive,
                count(*) filter (net_revenue < 0 or not isfinite(net_revenue)) as negative_net_revenue,
                count(*) filter (lifecycle_stage not in {_in(STAGES)}) as bad_lifecycle_stage,
                count(*) filter (value_tier not in {_in(VALUE_TIERS)}) as bad_value_tier
            from marts.dim_customers""",
            "marts.dim_customers profile",
        ),
    ),
    "mart_customer_value": (
        "mart_customer_value",
        SqlFrame(
            f"""select count(*) as rows,
                {_bad("clv", 0)} + count(*) filter (clv is null) as bad_clv,
                {_bad("p_alive", 0, 1)} as bad_p_alive,
                {_bad("expected_purchases", 0)} as bad_expected_purchases
            from marts.mart_customer_value""",
            "marts.mart_customer_value profile",
        ),
    ),
    "mart_fct_customer_months": (
        "fct_customer_months",
        SqlFrame(
            """select month_start,
                count(*) as customers,
                sum(net_revenue) as net_revenue
            from marts.fct_customer_months group by month_start order by month_start""",
            "marts.fct_customer_months per month",
            ("month_start",),
        ),
    ),
    "mart_fct_lifecycle_transitions": (
        "fct_lifecycle_transitions",
        SqlFrame(
            f"""select count(*) as rows,
                count(*) filter (from_stage = to_stage) as same_stage_transitions,
                count(*) filter (from_stage not in {_in(STAGES)}) as bad_from_stages
            from marts.fct_lifecycle_transitions""",
            "marts.fct_lifecycle_transitions profile",
        ),
    ),
    "mart_fct_tickets": (
        "fct_tickets",
        SqlFrame(
            """select count(*) as rows,
                case when count(*) = 0 and exists (select 1 from raw.support_tickets) then 1 else 0 end
                    as empty_despite_raw_tickets,
                count(*) filter (first_response_hours < 0 or resolution_hours < 0) as negative_hours
            from marts.fct_tickets""",
            "marts.fct_tickets profile",
        ),
    ),
    "mart_relationship_health": (
        "mart_relationship_health",
        SqlFrame(
            f"""select count(*) as rows,
                {_bad("health_score", 0, 100)} as bad_health_score
            from marts.mart_relationship_health""",
            "marts.mart_relationship_health profile",
        ),
    ),
    "mart_customer_flows": (
        "mart_customer_flows",
        SqlFrame(
            """select *,
                abs(net_change - (gained + won_back - lost)) as balance_gap
            from marts.mart_customer_flows""",
            "marts.mart_customer_flows",
            ("month_start", "acquisition_channel"),
        ),
    ),
    "mart_retention_cohorts": (
        "mart_retention_cohorts",
        SqlFrame(
            """select *,
                max(cohort_size) over cohort - min(cohort_size) over cohort as cohort_size_spread,
                active_customers <= cohort_size as active_within_cohort
            from marts.mart_retention_cohorts
            window cohort as (partition by cohort_month, acquisition_channel)""",
            "marts.mart_retention_cohorts",
            ("cohort_month", "acquisition_channel", "month_offset"),
        ),
    ),
    "mart_customer_equity": (
        "mart_customer_equity",
        SqlFrame(
            """select *,
                coalesce(isfinite(customer_equity), false) as equity_is_finite,
                coalesce(isfinite(roc), roc is null) as roc_is_finite_or_null
            from marts.mart_customer_equity""",
            "marts.mart_customer_equity",
            ("month_end", "acquisition_channel"),
        ),
    ),
    "mart_relationship_health_summary": (
        "mart_relationship_health_summary",
        SqlFrame(
            "select * from marts.mart_relationship_health_summary",
            "marts.mart_relationship_health_summary",
            ("health_band",),
        ),
    ),
    "mart_post_purchase_recovery": (
        "mart_post_purchase_recovery",
        SqlFrame(
            """select *,
                repurchased_customers <= observed_customers and observed_customers <= customers as counts_nest
            from marts.mart_post_purchase_recovery""",
            "marts.mart_post_purchase_recovery",
            ("resolution_bucket", "is_solved"),
        ),
    ),
    "mart_lifecycle_funnel": (
        "mart_lifecycle_funnel",
        SqlFrame(
            """select *,
                coalesce(leads, contacts, purchasers) >= coalesce(contacts, purchasers)
                    and coalesce(contacts, purchasers) >= purchasers
                    and purchasers >= repeat_purchasers and repeat_purchasers >= advocates as steps_nest
            from marts.mart_lifecycle_funnel""",
            "marts.mart_lifecycle_funnel",
            ("cohort_month", "acquisition_channel", "entry_point"),
        ),
    ),
    "mart_retention_mix": (
        "mart_retention_mix",
        SqlFrame(
            """select *,
                coalesce(repurchased_customers, 0) <= customers and churned_customers <= customers
                    as counts_nest
            from marts.mart_retention_mix""",
            "marts.mart_retention_mix",
            ("month_start", "lever", "is_exposed"),
        ),
    ),
    "mart_nps": (
        "mart_nps",
        SqlFrame(
            """select *,
                promoters + passives + detractors = responses as categories_add_up
            from marts.mart_nps""",
            "marts.mart_nps",
            ("month_start", "segment_type", "segment"),
        ),
    ),
    "mart_clv_backtest": (
        "mart_clv_backtest",
        SqlFrame(
            """select *,
                coalesce(isfinite(predicted_purchases), not fit_converged) as predicted_is_finite
            from marts.mart_clv_backtest""",
            "marts.mart_clv_backtest",
            ("cutoff_date", "frequency_bucket"),
        ),
    ),
}
