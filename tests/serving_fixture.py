"""A small hand-made build database with a `marts` schema, for the serving tests that need no full build.

Shapes follow the mart columns in the common brief; values are simple enough to check by hand. dim_customers
carries the personal columns the publish must mask (email hashed, names and phone dropped).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

SALT = "test-salt-not-the-default"
GUEST_EMAIL = "guest.person@example.com"
# Customer 0 is a guest: its id is 'g-' || md5(normalised email), as the dbt models make it.
CUSTOMER_ID = f"case when i = 0 then 'g-' || md5('{GUEST_EMAIL}') else 'c' || i end"
CHANNELS = ("organic", "paid_search", "referral")


def make_build_db(path: Path, customers: int = 120) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema intermediate")
        con.execute("create table intermediate.int_clv__settings as select date '2024-06-15' as as_of_date")
        con.execute(
            f"""
            create table marts.dim_customers as
            select {CUSTOMER_ID} as customer_id,
                   ['organic', 'paid_search', 'referral'][i % 3 + 1] as acquisition_channel,
                   'Person.' || i || '@Example.com' as email,
                   'First' || i as first_name, 'Last' || i as last_name, '+1-555-' || i as phone,
                   'Manager ' || (i % 4) as account_manager,
                   (i % 7) + 1 as order_count
            from range({customers}) t(i)
            """
        )
        # Six cohorts (Jan..Jun 2024), offsets up to June; retention (k > 0) = 1 / (k + 1) for channel all.
        con.execute(
            """
            create table marts.mart_retention_cohorts as
            with base as (
                select (date '2024-01-01' + to_months(c))::date as cohort_month, k as month_offset
                from range(6) a(c), range(6) b(k) where c + k < 6
            )
            select cohort_month, ch as acquisition_channel, month_offset, 20 as cohort_size,
                   case when month_offset = 0 then 20 else 20 // (month_offset + 1) end as active_customers,
                   case when month_offset = 0 then 1.0 else (20 // (month_offset + 1)) / 20 end
                       as retention_rate,
                   100.0 * (6 - month_offset) as net_revenue, 5.0 as cumulative_revenue_per_customer,
                   1.0 / (month_offset + 1) as revenue_retention
            from base, (values ('all'), ('organic')) v(ch)
            """
        )
        con.execute(
            """
            create table marts.mart_customer_flows as
            select (date '2024-01-01' + to_months(m))::date as month_start, 'all' as acquisition_channel,
                   10 * m as customers_start, 12 - m as gained, 5 as kept, m as lost, 1 as won_back,
                   10 * m + 13 - 2 * m as customers_end, 13 - 2 * m as net_change,
                   (12 - m) / nullif(m, 0) as acquisition_retention_ratio
            from range(6) t(m)
            """
        )
        con.execute(
            """
            create table marts.mart_customer_equity as
            select (date '2024-01-31' + to_months(m))::date as month_end, m = 5 as is_partial_month,
                   ch as acquisition_channel, 50 + m as customers,
                   1000.0 + 100 * m - 30 * m * m as customer_equity, 200.0 + 10 * m as cash_flow,
                   case when m > 0 then 1000.0 + 100 * (m - 1) - 30 * (m - 1) * (m - 1) end as equity_start,
                   190.0 + 10 * m as retained_cash_flow, 950.0 + 95 * m - 30 * m * m as retained_equity_end,
                   10.0 as acquisition_cash_flow, 50.0 + 5 * m as acquisition_equity,
                   60.0 + 5 * m as acquisition_contribution,
                   null::double as equity_change, null::double as roc
            from range(6) t(m), (values ('organic'), ('referral')) v(ch)
            """
        )
        con.execute(
            f"""
            create table marts.mart_customer_value as
            select {CUSTOMER_ID} as customer_id,
                   ['organic', 'paid_search', 'referral'][i % 3 + 1] as acquisition_channel,
                   i % 5 as frequency, 3.0 as recency, 10.0 as t, 20.0 + i as monetary_value, 0.8 as p_alive,
                   1.5 as expected_purchases, 25.0 as expected_order_value,
                   (i % 40) * 2.5 + (i % 3) * 30 as clv,
                   'low' as value_tier
            from range({customers}) t(i)
            """
        )
        con.execute(
            f"""
            create table marts.fct_customer_months as
            select {CUSTOMER_ID} as customer_id, (date '2024-01-01' + to_months(m))::date as month_start,
                   last_day(date '2024-01-01' + to_months(m)) as month_end,
                   ['organic', 'paid_search', 'referral'][i % 3 + 1] as acquisition_channel,
                   ['prospect', 'new', 'active', 'at_risk', 'churned', 'reactivated'][(i + m) % 6 + 1]
                       as lifecycle_stage,
                   null::varchar as previous_stage, 1 as orders, 10.0 as net_revenue,
                   5 as days_since_last_order
            from range({customers}) a(i), range(6) b(m)
            """
        )
        # Hand-worked: fast 30/40 repurchased (75%), slow 10/25 (40%), unsolved 1/10 (10%).
        con.execute(
            """
            create table marts.mart_post_purchase_recovery as
            select * from (values ('fast', true, 40, 40, 30, 4), ('slow', true, 30, 25, 10, 9),
                                  ('unsolved', false, 10, 10, 1, 6))
                v(resolution_bucket, is_solved, customers, observed_customers, repurchased_customers,
                  churned_customers)
            """
        )
        # Funnel: three cohort months (Jan..Mar 2024), each with the same people per entry point.
        con.execute(
            """
            create table marts.mart_lifecycle_funnel as
            select (date '2024-01-01' + to_months(m))::date as cohort_month, ch as acquisition_channel,
                   e as entry_point,
                   case e when 'lead' then 'awareness' when 'contact' then 'contact' else 'purchase' end
                       as funnel_start,
                   case when e = 'lead' then 100 end::bigint as leads,
                   case e when 'lead' then 40 when 'contact' then 20 end::bigint as contacts,
                   case e when 'lead' then 30 when 'contact' then 10 else 8 end::bigint as purchasers,
                   case e when 'lead' then 12 when 'contact' then 5 else 2 end::bigint as repeat_purchasers,
                   case e when 'lead' then 3 when 'contact' then 1 else 0 end::bigint as advocates,
                   10.0 as median_days_lead_to_contact
            from range(3) t(m), (values ('all'), ('organic')) c(ch),
                 (values ('lead'), ('contact'), ('guest')) x(e)
            """
        )
        # Mix: six months, four levers; exposed 10 and not 30 customers a month; the window observed in the
        # first three months; repurchased 7 of 10 exposed (9 for loyalty_promo) and 15 of 30; churned 1 and 6.
        con.execute(
            """
            create table marts.mart_retention_mix as
            select (date '2024-01-01' + to_months(m))::date as month_start, lever, is_exposed,
                   case when is_exposed then 10 else 30 end::bigint as customers,
                   m < 3 as is_window_observed,
                   case when m < 3 then
                       case when not is_exposed then 15 when lever = 'loyalty_promo' then 9 else 7 end
                   end::bigint as repurchased_customers,
                   case when is_exposed then 1 else 6 end::bigint as churned_customers,
                   'association, not effect' as interpretation
            from range(6) t(m),
                 (values ('account_manager'), ('loyalty_promo'), ('campaign_touch'),
                         ('post_purchase_ticket_solved_within_target')) l(lever),
                 (values (true), (false)) x(is_exposed)
            """
        )
    return path
