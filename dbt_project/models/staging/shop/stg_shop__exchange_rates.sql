-- One row per currency and rate date (latest export wins), numbered per currency (rate_seq) for the as-of
-- join of macro as_of_rate_seq, with the date range the rate applies to: from its date until the next
-- published rate (valid_to exclusive, null for the latest). The first rate of a currency also covers every
-- earlier date (valid_from 1900-01-01) so no order is left unconverted.
with ranked as (
    {{ latest_copy(source('raw', 'shop_exchange_rates'), ['currency', 'rate_date'], ['_file desc', '_line desc']) }}
),

rates as (
    select currency, rate_date, usd_per_unit
    from ranked
    where copy_rank = 1
)

select
    currency,
    rate_date,
    usd_per_unit,
    row_number() over (partition by currency order by rate_date) as rate_seq,
    case
        when row_number() over (partition by currency order by rate_date) = 1 then cast('1900-01-01' as date)
        else rate_date
    end as valid_from,
    lead(rate_date) over (partition by currency order by rate_date) as valid_to
from rates
