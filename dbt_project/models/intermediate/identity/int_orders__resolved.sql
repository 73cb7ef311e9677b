-- Orders (as of as_of_date) with the customer they belong to: the order's customer_id when it is a
-- known contact, else the contact that used its normalised email, else a guest 'g-' || md5(email), else (no
-- email: the loader requires one only when customer_id is null) the shop's customer id as given.
-- Internal customers are flagged here and dropped by every mart (DECISIONS.md, Customers and identity).
-- Incremental (DECISIONS.md, Incremental processing): touched orders are resolved again.
-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__touched_orders') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="order", on_schema_change="fail"
) }}
with orders as (
    select * from {{ ref('int_orders__net_revenue') }}
    {% if is_incremental() %}where {{ rewritten_rows('order') }}{% endif %}
),

contacts as (
    select * from {{ ref('int_crm__contacts_known') }}
),

resolved as (
    {{ resolve_contact('orders', 'source_customer_id', 'email_normalized') }}
)

-- Only the columns downstream models read: every wide text column costs compression time when the table is written.
select
    resolved.order_id,
    resolved.order_number,
    resolved.email_normalized,
    resolved.created_at,
    resolved.order_date,
    resolved.order_month,
    resolved.status,
    resolved.is_completed,
    resolved.currency,
    resolved.fx_rate,
    resolved.subtotal,
    resolved.discount_total,
    resolved.tax_total,
    resolved.shipping_total,
    resolved.total,
    resolved.promo_code,
    resolved.referral_code,
    resolved.refunds,
    resolved.refund_count,
    resolved.net_revenue,
    coalesce(
        resolved.contact_id, 'g-' || {{ dbt.hash('resolved.email_normalized') }}, resolved.source_customer_id
    ) as customer_id,
    case when resolved.contact_id is null then 'guest' else 'contact' end as customer_type,
    case
        when resolved.contact_id is null then {{ is_internal_email('resolved.email_normalized') }}
        else contacts.customer_is_internal
    end as is_internal_customer
from resolved
left join contacts
    on resolved.contact_id = contacts.contact_id
