-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_tickets') }}
-- depends_on: {{ ref('fct_tickets') }}
-- Customers whose retention-mix rows this build rewrites beyond int_incremental__affected_customers (DECISIONS.md,
-- Incremental processing): a campaign touch is tied to no order, and a ticket's flags change without its
-- customer being affected (a solve or a new version, an identity move of the ticket alone). So: the contact of
-- every copy of an activity loaded since the watermark (the previous copy's contact loses the touch, the new
-- one gains it), and the customer before and after this build of every rewritten fct_tickets row. Empty without
-- a usable previous build: then every row is rewritten (macro incremental_rewrite_all).
{% set facts = previous_facts() %}
{% if not facts %}
select cast(null as {{ dbt.type_string() }}) as customer_id where 1 = 0
{% else %}
with activities as (
    select activity_id, contact_id from {{ source('raw', 'crm_activities') }}
),

affected_tickets as (
    select ticket_id, previous_customer_id from {{ ref('int_incremental__affected_tickets') }}
),

affected as (
    select contact_id as customer_id
    from activities
    where activity_id in (
        select activity_id from {{ source('raw', 'crm_activities') }} where {{ loaded_since_watermark() }}
    )
    union
    select previous_customer_id from affected_tickets
    union
    select tickets.customer_id
    from {{ ref('fct_tickets') }} as tickets
    inner join affected_tickets
        on tickets.ticket_id = affected_tickets.ticket_id
)

select distinct customer_id from affected where customer_id is not null
{% endif %}
