-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__touched_orders') }}
-- depends_on: {{ ref('int_incremental__touched_contacts') }}
-- depends_on: {{ ref('int_orders__resolved') }}
-- Customers whose rows this build rewrites (DECISIONS.md, Incremental processing): the customer before and
-- after this build of every touched order (int_incremental__touched_orders: new exports, refunds, lines and
-- exchange rates, and contact changes that can move orders), touched CRM contacts, and the guest of every
-- email a touched contact used (its orders may now belong to the contact). The previous customer is read from
-- the previous int_orders__resolved and from fct_orders (the last table a build writes: after a build that
-- failed half-way it still holds what the marts show). Empty when there is no usable previous build: then
-- every customer is rewritten (macro incremental_rewrite_all).
{% set facts = previous_facts() %}
{% if not facts %}
select cast(null as {{ dbt.type_string() }}) as customer_id where 1 = 0
{% else %}
with touched_orders as (
    select * from {{ ref('int_incremental__touched_orders') }}
),

touched_contacts as (
    select * from {{ ref('int_incremental__touched_contacts') }}
),

previous_orders as (
    select order_id, customer_id from {{ facts[0] }}
),

affected as (
    select orders.customer_id
    from {{ ref('int_orders__resolved') }} as orders
    inner join touched_orders
        on orders.order_id = touched_orders.order_id
    union
    select previous_customer_id from touched_orders
    union
    select previous_orders.customer_id
    from previous_orders
    inner join touched_orders
        on previous_orders.order_id = touched_orders.order_id
    union
    select contact_id from touched_contacts
    union
    select 'g-' || {{ dbt.hash('email_normalized') }} from touched_contacts where email_normalized is not null
)

select distinct customer_id from affected where customer_id is not null
{% endif %}
