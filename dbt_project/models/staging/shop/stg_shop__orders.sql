-- One row per order (latest export wins: file name, then line). Timestamps in UTC; every amount in the
-- reporting currency at the latest rate on or before the order's UTC date (DECISIONS.md, Money).
{% set reporting = var('reporting_currency') %}
with ranked as (
    {{ latest_copy(source('raw', 'shop_orders'), ['order_id'], ['_file desc', '_line desc']) }}
),

orders as (
    select
        *,
        {{ utc_timestamp('created_at') }} as created_at_utc
    from ranked
    where copy_rank = 1
),

rates as (
    select * from {{ ref('stg_shop__exchange_rates') }}
),

-- one rate lookup per currency and day, not per order
order_days as (
    select distinct currency, {{ to_date('created_at_utc') }} as event_date
    from orders
),

order_rates as (
    {{ as_of_rates('order_days', 'rates') }}
),
{%- if reporting != 'USD' %}

reporting_days as (
    select distinct '{{ reporting }}' as currency, event_date
    from order_days
),

reporting_rates as (
    {{ as_of_rates('reporting_days', 'rates') }}
),
{%- endif %}

converted as (
    select
        orders.*,
        {{ to_date('orders.created_at_utc') }} as order_date,
        -- usd per unit of the order currency / usd per unit of the reporting currency; a date before the
        -- first published rate takes the first rate
        (case when orders.currency = 'USD' then 1.0 else order_rate.usd_per_unit end)
        {%- if reporting != 'USD' %} / reporting_rate.usd_per_unit{% endif %} as fx_rate
    from orders
    left join order_rates as order_rate
        on orders.currency = order_rate.currency
        and {{ to_date('orders.created_at_utc') }} = order_rate.event_date
    {%- if reporting != 'USD' %}
    left join reporting_rates as reporting_rate
        on {{ to_date('orders.created_at_utc') }} = reporting_rate.event_date
    {%- endif %}
)

select
    order_id,
    order_number,
    nullif(trim(customer_id), '') as source_customer_id,
    email,
    lower(trim(email)) as email_normalized,
    created_at_utc as created_at,
    order_date,
    {{ month_start('order_date') }} as order_month,
    status,
    status <> 'cancelled' as is_completed,
    currency,
    fx_rate,
    subtotal * fx_rate as subtotal,
    coalesce(discount_total, 0) * fx_rate as discount_total,
    coalesce(tax_total, 0) * fx_rate as tax_total,
    coalesce(shipping_total, 0) * fx_rate as shipping_total,
    total * fx_rate as total,
    subtotal as subtotal_local,
    total as total_local,
    nullif(trim(promo_code), '') as promo_code,
    nullif(trim(referral_code), '') as referral_code,
    _file as source_file,
    _line as source_line
from converted
