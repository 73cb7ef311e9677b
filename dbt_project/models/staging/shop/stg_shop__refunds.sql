-- One row per refund (latest export wins), converted at the rate of the ORDER's UTC date so an order's
-- net revenue uses one rate (DECISIONS.md, Money); a refund of an unknown order uses its own date.
with ranked as (
    {{ latest_copy(source('raw', 'shop_refunds'), ['refund_id'], ['_file desc', '_line desc']) }}
),

refunds as (
    select
        ranked.*,
        {{ to_date(utc_timestamp('ranked.created_at')) }} as refund_date,
        coalesce(orders.order_date, {{ to_date(utc_timestamp('ranked.created_at')) }}) as rate_date
    from ranked
    left join {{ ref('stg_shop__orders') }} as orders
        on ranked.order_id = orders.order_id
    where ranked.copy_rank = 1
),

rates as (
    select * from {{ ref('stg_shop__exchange_rates') }}
),

-- one rate lookup per currency and day, not per refund
refund_days as (
    select distinct currency, rate_date as event_date
    from refunds
),

refund_fx as (
    {{ reporting_fx_rates('refund_days', 'rates') }}
),

converted as (
    select
        refunds.*,
        refund_fx.fx_rate
    from refunds
    left join refund_fx
        on refunds.currency = refund_fx.currency
        and refunds.rate_date = refund_fx.event_date
)

select
    refund_id,
    order_id,
    {{ utc_timestamp('created_at') }} as created_at,
    refund_date,
    currency,
    amount as amount_local,
    amount * fx_rate as amount,
    reason,
    _file as source_file,
    _line as source_line
from converted
