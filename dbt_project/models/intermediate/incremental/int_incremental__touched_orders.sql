-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('stg_shop__orders') }}
-- depends_on: {{ ref('stg_shop__refunds') }}
-- depends_on: {{ ref('int_incremental__touched_contacts') }}
-- depends_on: {{ ref('int_incremental__touched_rates') }}
-- Orders whose resolved row this build rewrites (DECISIONS.md, Incremental processing), with the customer the
-- previous build gave them: orders with an export, a refund or a line loaded since the watermark, orders and
-- refunds converted with an exchange rate loaded since then, and orders whose customer can move because a CRM
-- contact changed (orders naming the contact, or with an email any version of it used). Empty when there is no
-- usable previous build: then every order is rewritten (macro incremental_rewrite_all).
{% set facts = previous_facts() %}
{# The previous build's int_orders__resolved, read as a relation, not a ref: this model runs before it. #}
{% set previous_resolved = adapter.get_relation(
    database=target.database, schema=this.schema, identifier='int_orders__resolved') if execute and facts else none %}
{% if not facts %}
select
    cast(null as {{ dbt.type_string() }}) as order_id,
    cast(null as {{ dbt.type_string() }}) as previous_customer_id
where 1 = 0
{% else %}
with orders as (
    select order_id, source_customer_id, email_normalized, currency, order_date
    from {{ ref('stg_shop__orders') }}
),

touched_contacts as (
    select contact_id, email_normalized from {{ ref('int_incremental__touched_contacts') }}
),

rates as (
    select * from {{ ref('int_incremental__touched_rates') }}
),

touched as (
    select order_id from {{ source('raw', 'shop_orders') }} where {{ loaded_since_watermark() }}
    union
    select order_id from {{ source('raw', 'shop_refunds') }} where {{ loaded_since_watermark() }}
    union
    select order_id from {{ source('raw', 'shop_order_lines') }} where {{ loaded_since_watermark() }}
    union
    select orders.order_id
    from orders
    inner join rates
        on {{ fx_touched('orders.currency', 'orders.order_date', 'rates') }}
    union
    select refunds.order_id
    from {{ ref('stg_shop__refunds') }} as refunds
    left join orders
        on refunds.order_id = orders.order_id
    inner join rates
        on {{ fx_touched('refunds.currency', 'coalesce(orders.order_date, refunds.refund_date)', 'rates') }}
    union
    select orders.order_id
    from orders
    inner join touched_contacts
        on orders.source_customer_id = touched_contacts.contact_id
    union
    select orders.order_id
    from orders
    inner join touched_contacts
        on orders.email_normalized = touched_contacts.email_normalized
)

select
    touched.order_id,
    {% if previous_resolved %}previous.customer_id{% else %}cast(null as {{ dbt.type_string() }}){% endif %}
        as previous_customer_id
from touched
{% if previous_resolved %}
left join {{ previous_resolved }} as previous
    on touched.order_id = previous.order_id
{% endif %}
{% endif %}
