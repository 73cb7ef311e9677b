{# For each distinct (currency, event_date) of `event_days`: fx_rate, the reporting-currency amount (var
   reporting_currency) of one unit of `currency` at the latest rate on or before event_date (as_of_rates: a date
   before a currency's first published rate takes that first rate). Rates are USD per unit, so a non-USD
   reporting currency divides by its own rate of the same day. Callers join back on (currency, event_date). #}
{% macro reporting_fx_rates(event_days, rates) -%}
    {%- set reporting = var('reporting_currency') -%}
select
    event_rate.currency,
    event_rate.event_date,
    (case when event_rate.currency = 'USD' then 1e0 else event_rate.usd_per_unit end)
    {%- if reporting != 'USD' %} / reporting_rate.usd_per_unit{% endif %} as fx_rate
from ({{ as_of_rates(event_days, rates) }}) as event_rate
{%- if reporting != 'USD' %}
left join (
    {{ as_of_rates(
        "(select distinct '" ~ reporting ~ "' as currency, event_date from " ~ event_days ~ ") as reporting_days",
        rates,
    ) }}
) as reporting_rate
    on event_rate.event_date = reporting_rate.event_date
{%- endif %}
{%- endmacro %}
