-- One row per order (latest export wins: file name, then line). Timestamps in UTC; every amount in the
-- reporting currency at the latest rate on or before the order's UTC date (DECISIONS.md, Money).
-- Incremental (DECISIONS.md, Incremental processing): orders exported since the watermark, and orders converted
-- with an exchange rate loaded since then, are deduped and converted again from every copy of them.
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__touched_rates') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="raw_order", on_schema_change="fail"
) }}
{% set raw_orders %}
    {%- if is_incremental() -%}
    (select * from {{ source('raw', 'shop_orders') }} where {{ rewritten_rows('raw_order') }})
    {%- else -%}
    {{ source('raw', 'shop_orders') }}
    {%- endif -%}
{% endset %}
with ranked as (
    {{ latest_copy(raw_orders, ['order_id'], ['_file desc', '_line desc']) }}
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

order_fx as (
    {{ reporting_fx_rates('order_days', 'rates') }}
),

converted as (
    select
        orders.*,
        {{ to_date('orders.created_at_utc') }} as order_date,
        order_fx.fx_rate
    from orders
    left join order_fx
        on orders.currency = order_fx.currency
        and {{ to_date('orders.created_at_utc') }} = order_fx.event_date
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
