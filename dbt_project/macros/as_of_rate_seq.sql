{# As-of join without a range join: for each event (event_id, currency, event_date) of `events`, the sequence
   number (rate_seq in stg_shop__exchange_rates) of the latest rate of that currency published on or before
   event_date, found with one running count over a rates+events timeline per currency. 0 = before the first
   rate. A range join (date between valid_from and valid_to) degrades to a nested loop at 10M orders. #}
{% macro as_of_rate_seq(events, rates) -%}
select event_id, currency, rate_seq
from (
    select
        event_id,
        currency,
        event_kind,
        sum(case when event_kind = 0 then 1 else 0 end) over (
            partition by currency order by event_date, event_kind
            rows between unbounded preceding and current row
        ) as rate_seq
    from (
        select cast(null as {{ dbt.type_string() }}) as event_id, currency, rate_date as event_date, 0 as event_kind
        from {{ rates }}
        union all
        select event_id, currency, event_date, 1 as event_kind
        from {{ events }}
    ) as timeline
) as sequenced
where event_kind = 1
{%- endmacro %}
