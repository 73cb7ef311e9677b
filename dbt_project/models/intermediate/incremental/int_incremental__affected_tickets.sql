-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('stg_support__tickets') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
-- depends_on: {{ ref('int_incremental__touched_contacts') }}
-- Tickets whose int_tickets__resolved and fct_tickets rows this build rewrites (or drops) (DECISIONS.md,
-- Incremental processing), derived from what the day changed, not from the tickets as resolved now (so
-- int_tickets__resolved can itself be incremental). A ticket's row follows from its versions, its CSAT ratings,
-- the customer its requester resolves to (and whether that customer is internal), that customer's completed
-- orders, and as_of_date. So: tickets with a raw ticket or CSAT row loaded since the watermark; tickets with a
-- version saved or created between the previous and this as_of_date (the version a ticket is read in moves with
-- as_of_date); tickets not yet answered or solved in the previous build (their SLA clock runs with as_of_date,
-- and a response dated after the previous as_of_date becomes visible now); tickets whose previous customer is
-- affected (post-purchase flags follow its orders; it may have become internal or disappeared); and identity
-- moves: tickets naming a touched contact, with an email a touched contact used (its contact resolution can
-- change), or whose email's guest is affected (a guest appearing, disappearing or becoming internal). Empty when
-- there is no usable previous build: then every ticket is rewritten (macro incremental_rewrite_all). Each with
-- the customer the previous fct_tickets gave it (read here, before fct_tickets is rewritten): the retention mix
-- rewrites the months of both the old and the new customer.
{% set facts = previous_facts() %}
{% if not facts %}
select
    cast(null as {{ dbt.type_string() }}) as ticket_id,
    cast(null as {{ dbt.type_string() }}) as previous_customer_id
where 1 = 0
{% else %}
with versions as (
    select ticket_id, source_customer_id, requester_email_normalized, created_at, updated_at
    from {{ ref('stg_support__tickets') }}
),

previous_tickets as (
    select ticket_id, customer_id, first_response_at, solved_at from {{ facts[1] }}
),

affected_customers as (
    select customer_id from {{ ref('int_incremental__affected_customers') }}
),

touched_contacts as (
    select contact_id, email_normalized from {{ ref('int_incremental__touched_contacts') }}
),

-- The as_of_date interval this build moves across (it only moves forward here: a move back rewrites everything).
moved as (
    select
        least(previous_as_of_date, {{ as_of_date() }}) as from_date,
        greatest(previous_as_of_date, {{ as_of_date() }}) as through_date
    from {{ ref('int_incremental__state') }}
),

affected as (
    select ticket_id from {{ source('raw', 'support_tickets') }} where {{ loaded_since_watermark() }}
    union
    select ticket_id from {{ source('raw', 'support_csat') }} where {{ loaded_since_watermark() }}
    union
    select versions.ticket_id
    from versions
    cross join moved
    where ({{ to_date('versions.updated_at') }} > moved.from_date
            and {{ to_date('versions.updated_at') }} <= moved.through_date)
        or ({{ to_date('versions.created_at') }} > moved.from_date
            and {{ to_date('versions.created_at') }} <= moved.through_date)
    union
    select ticket_id from previous_tickets where first_response_at is null or solved_at is null
    union
    select previous_tickets.ticket_id
    from previous_tickets
    inner join affected_customers
        on previous_tickets.customer_id = affected_customers.customer_id
    union
    select versions.ticket_id
    from versions
    inner join touched_contacts
        on versions.source_customer_id = touched_contacts.contact_id
    union
    select versions.ticket_id
    from versions
    inner join touched_contacts
        on versions.requester_email_normalized = touched_contacts.email_normalized
    union
    select versions.ticket_id
    from versions
    inner join affected_customers
        on 'g-' || {{ dbt.hash('versions.requester_email_normalized') }} = affected_customers.customer_id
)

select affected.ticket_id, previous_tickets.customer_id as previous_customer_id
from affected
left join previous_tickets
    on affected.ticket_id = previous_tickets.ticket_id
where affected.ticket_id is not null
{% endif %}
