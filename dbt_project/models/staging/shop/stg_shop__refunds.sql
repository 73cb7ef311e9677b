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
),

-- one rate lookup per currency and day, not per refund
refund_days as (
    select distinct currency, rate_date as event_date
    from refunds
),

refund_rates as (
    {{ as_of_rates('refund_days', 'rates') }}
),
{%- if reporting != 'USD' %}

reporting_days as (
    select distinct '{{ reporting }}' as currency, event_date
    from refund_days
),

reporting_rates as (
    {{ as_of_rates('reporting_days', 'rates') }}
),
{%- endif %}

converted as (
    select
        refunds.*,
        (case when refunds.currency = 'USD' then 1.0 else refund_rate.usd_per_unit end)
        {%- if reporting != 'USD' %} / reporting_rate.usd_per_unit{% endif %} as fx_rate
    from refunds
    left join refund_rates as refund_rate
        on refunds.currency = refund_rate.currency
        and refunds.rate_date = refund_rate.event_date
    {%- if reporting != 'USD' %}
    left join reporting_rates as reporting_rate
        on refunds.rate_date = reporting_rate.event_date
    {%- endif %}
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
