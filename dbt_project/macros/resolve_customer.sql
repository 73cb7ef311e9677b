{# Identity resolution (DECISIONS.md, Customers and identity), in one place for orders, tickets and NPS.

   resolve_contact: the rows of `events` with contact_id, the customer id of the CRM contact they belong to: the
   row's own customer id when it is a known contact, else the lowest contact that used its normalised email,
   else null; a contact's customer id is the lowest contact_id of the contacts sharing its current email. #}
{% macro resolve_contact(events, source_customer_id, email_normalized) -%}
select
    events.*,
    coalesce(by_id.customer_id, email_map.customer_id) as contact_id
from {{ events }} as events
left join {{ ref('int_crm__contacts_known') }} as by_id
    on events.{{ source_customer_id }} = by_id.contact_id
left join {{ ref('int_customers__email_map') }} as email_map
    on events.{{ email_normalized }} = email_map.email_normalized
{%- endmacro %}

{# resolve_known_customer: the rows of `events` with customer_id, the contact (resolve_contact), else the existing
   guest with the row's email, else null (an unknown customer); rows of internal customers are dropped. Only
   orders create guests, so events that are not orders never invent a customer. #}
{% macro resolve_known_customer(events, source_customer_id, email_normalized) -%}
select resolved.*
from (
    select
        with_contact.*,
        coalesce(with_contact.contact_id, guest.customer_id) as customer_id
    from ({{ resolve_contact(events, source_customer_id, email_normalized) }}) as with_contact
    left join {{ ref('int_customers__resolved') }} as guest
        on guest.customer_type = 'guest'
        and guest.customer_id = 'g-' || {{ dbt.hash('with_contact.' ~ email_normalized) }}
) as resolved
left join {{ ref('int_customers__resolved') }} as customers
    on resolved.customer_id = customers.customer_id
where not coalesce(customers.is_internal, false)
{%- endmacro %}
