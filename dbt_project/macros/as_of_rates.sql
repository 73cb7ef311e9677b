{# As-of join without a range join: for each distinct (currency, event_date) of `events`, the usd_per_unit of the
   latest rate of that currency published on or before event_date (the currency's first rate before it; null
   for a currency with no rate), found with one running count over a rates+dates timeline per currency and an
   equi-join on the rate's sequence number (rate_seq in stg_shop__exchange_rates). Callers pass distinct dates,
   so the window sorts a few thousand rows, not one per order; they equi-join back on (currency, date). A range
   join (date between valid_from and valid_to) degrades to a nested loop at 10M orders. #}
{% macro as_of_rates(events, rates) -%}
select sequenced.currency, sequenced.event_date, rates.usd_per_unit
from (
    select
        currency,
        event_date,
        event_kind,
        sum(case when event_kind = 0 then 1 else 0 end) over (
            partition by currency order by event_date, event_kind
            rows between unbounded preceding and current row
        ) as rate_seq
    from (
        select currency, rate_date as event_date, 0 as event_kind
        from {{ rates }}
        union all
        select currency, event_date, 1 as event_kind
        from {{ events }}
    ) as timeline
) as sequenced
left join {{ rates }} as rates
    on sequenced.currency = rates.currency
    and greatest(sequenced.rate_seq, 1) = rates.rate_seq
where sequenced.event_kind = 1
{%- endmacro %}
