-- One row per refund (latest export wins), converted at the rate of the ORDER's UTC date so an order's
-- net revenue uses one rate (DECISIONS.md, Money); a refund of an unknown order uses its own date.
{% set reporting = var('reporting_currency') %}
with ranked as (
    select
        *,
        row_number() over (partition by refund_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'shop_refunds') }}
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
)

select
    refunds.refund_id,
    refunds.order_id,
    {{ utc_timestamp('refunds.created_at') }} as created_at,
    refunds.refund_date,
    refunds.currency,
    refunds.amount as amount_local,
    refunds.amount * (case when refunds.currency = 'USD' then 1.0 else refund_rate.usd_per_unit end)
    {%- if reporting != 'USD' %} / reporting_rate.usd_per_unit{% endif %} as amount,
    refunds.reason,
    refunds._file as source_file,
    refunds._line as source_line
from refunds
left join rates as refund_rate
    on refunds.currency = refund_rate.currency
    and refunds.rate_date >= refund_rate.valid_from
    and (refunds.rate_date < refund_rate.valid_to or refund_rate.valid_to is null)
{%- if reporting != 'USD' %}
left join rates as reporting_rate
    on reporting_rate.currency = '{{ reporting }}'
    and refunds.rate_date >= reporting_rate.valid_from
    and (refunds.rate_date < reporting_rate.valid_to or reporting_rate.valid_to is null)
{%- endif %}
