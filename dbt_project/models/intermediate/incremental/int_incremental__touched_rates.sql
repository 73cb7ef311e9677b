-- depends_on: {{ ref('int_incremental__state') }}
-- Exchange rates loaded since the watermark (DECISIONS.md, Incremental processing): per currency, the first date
-- whose conversion they can change (macro fx_touched). A rate applies from its date until the next one, and the
-- first rate of a currency also to every earlier date, so a new rate dated on or before the currency's first
-- rate reaches back to 1900-01-01. No row when no rate arrived; every currency from 1900 without a previous build.
with rates as (
    select currency, rate_date, _loaded_at from {{ source('raw', 'shop_exchange_rates') }}
),

touched as (
    select currency, min(rate_date) as from_date
    from rates
    where {{ loaded_since_watermark() }}
    group by currency
),

first_rates as (
    select currency, min(rate_date) as first_rate_date
    from rates
    group by currency
)

select
    touched.currency,
    case
        when touched.from_date <= first_rates.first_rate_date then cast('1900-01-01' as date)
        else touched.from_date
    end as from_date
from touched
inner join first_rates
    on touched.currency = first_rates.currency
