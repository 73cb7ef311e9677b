-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
-- depends_on: {{ ref('stg_support__tickets') }}
-- Tickets whose fct_tickets row must be rewritten (or dropped) by this build (DECISIONS.md, Incremental
-- processing): every ticket when there is no usable previous build; else tickets touched by raw ticket or
-- CSAT rows loaded since the watermark, tickets of affected customers (post-purchase flags follow their
-- orders), tickets not yet answered or solved before or after this build (their SLA clock runs with
-- as_of_date, and a response dated after the previous as_of_date becomes visible now), and tickets whose
-- customer differs from the previous fct_tickets (identity moves, or the customer became internal), and
-- tickets with a version saved between the previous and this as_of_date (the version a ticket is read in
-- moves with as_of_date: a re-prioritisation or close already loaded becomes current). Each with the customer
-- the previous fct_tickets gave it (read here, before fct_tickets is rewritten): the retention mix rewrites the
-- months of both the old and the new customer.
{% set facts = previous_facts() %}
with tickets as (
    select ticket_id, customer_id, first_response_at, solved_at from {{ ref('int_tickets__resolved') }}
)

{% if not facts %}
select ticket_id, cast(null as {{ dbt.type_string() }}) as previous_customer_id from tickets
{% else %},

previous_tickets as (
    select ticket_id, customer_id, first_response_at, solved_at from {{ facts[1] }}
),

affected as (
    select ticket_id from {{ source('raw', 'support_tickets') }} where {{ loaded_since_watermark() }}
    union
    select ticket_id from {{ source('raw', 'support_csat') }} where {{ loaded_since_watermark() }}
    union
    select tickets.ticket_id
    from tickets
    inner join {{ ref('int_incremental__affected_customers') }} as affected_customers
        on tickets.customer_id = affected_customers.customer_id
    union
    select ticket_id from tickets where first_response_at is null or solved_at is null
    union
    select ticket_id from previous_tickets where first_response_at is null or solved_at is null
    union
    select versions.ticket_id
    from {{ ref('stg_support__tickets') }} as versions
    cross join {{ ref('int_incremental__state') }} as state
    where {{ to_date('versions.updated_at') }} > least(state.previous_as_of_date, {{ as_of_date() }})
        and {{ to_date('versions.updated_at') }} <= greatest(state.previous_as_of_date, {{ as_of_date() }})
    union
    select coalesce(tickets.ticket_id, previous_tickets.ticket_id)
    from tickets
    full outer join previous_tickets
        on tickets.ticket_id = previous_tickets.ticket_id
    where tickets.ticket_id is null
        or previous_tickets.ticket_id is null
        or coalesce(tickets.customer_id, '') <> coalesce(previous_tickets.customer_id, '')
)

select affected.ticket_id, previous_tickets.customer_id as previous_customer_id
from affected
left join previous_tickets
    on affected.ticket_id = previous_tickets.ticket_id
where affected.ticket_id is not null
{% endif %}
