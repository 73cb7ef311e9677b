-- depends_on: {{ ref('int_orders__resolved') }}
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- Customers whose rows in the incremental facts must be rewritten by this build (DECISIONS.md, Incremental
-- processing): every customer when there is no usable previous build; else the customers of orders touched by
-- raw rows loaded since the watermark (orders, refunds, order lines), CRM contacts with a new version and
-- everyone sharing that version's email (identity can move orders between them), and both the old and the new
-- customer of every order whose customer, currency rate, status or net revenue differs from the previous
-- fct_orders (a late exchange rate or an identity change reaches orders no new row names).
{% set facts = previous_facts() %}
{% if not facts %}
select customer_id from {{ ref('int_customers__resolved') }}
{% else %}
with touched_orders as (
    select order_id from {{ source('raw', 'shop_orders') }} where {{ loaded_since_watermark() }}
    union
    select order_id from {{ source('raw', 'shop_refunds') }} where {{ loaded_since_watermark() }}
    union
    select order_id from {{ source('raw', 'shop_order_lines') }} where {{ loaded_since_watermark() }}
),

touched_contacts as (
    select contact_id, lower(trim(email)) as email_normalized
    from {{ source('raw', 'crm_contacts') }}
    where {{ loaded_since_watermark() }}
),

orders as (
    select order_id, customer_id, email_normalized, fx_rate, status, net_revenue
    from {{ ref('int_orders__resolved') }}
    where not is_internal_customer
),

previous_orders as (
    select order_id, customer_id, fx_rate, status, net_revenue from {{ facts[0] }}
),

changed_orders as (
    select orders.customer_id as new_customer_id, previous_orders.customer_id as old_customer_id
    from orders
    full outer join previous_orders
        on orders.order_id = previous_orders.order_id
    where orders.order_id is null
        or previous_orders.order_id is null
        or orders.customer_id <> previous_orders.customer_id
        or orders.status <> previous_orders.status
        or cast(orders.fx_rate as {{ type_double() }}) <> previous_orders.fx_rate
        or cast(orders.net_revenue as {{ type_double() }}) <> previous_orders.net_revenue
),

affected as (
    select orders.customer_id
    from orders
    inner join touched_orders on orders.order_id = touched_orders.order_id
    union
    select contact_id from touched_contacts
    union
    select 'g-' || {{ dbt.hash('email_normalized') }} from touched_contacts where email_normalized is not null
    union
    select contacts.contact_id
    from {{ ref('stg_crm__contacts') }} as contacts
    inner join touched_contacts on contacts.email_normalized = touched_contacts.email_normalized
    union
    select orders.customer_id
    from orders
    inner join touched_contacts on orders.email_normalized = touched_contacts.email_normalized
    union
    select new_customer_id from changed_orders
    union
    select old_customer_id from changed_orders
)

select customer_id from affected where customer_id is not null
{% endif %}
