-- NPS responses submitted on or before as_of_date, resolved like tickets (contact id, contact email,
-- existing guest, else null); responses of internal customers dropped.
with responses as (
    select *
    from {{ ref('stg_support__nps') }}
    where {{ to_date('submitted_at') }} <= {{ as_of_date() }}
),

customers as (
    select * from {{ ref('int_customers__resolved') }}
),

email_map as (
    select * from {{ ref('int_customers__email_map') }}
),

resolved as (
    select
        responses.*,
        coalesce(by_id.customer_id, email_map.contact_id, guest.customer_id) as customer_id
    from responses
    left join customers as by_id
        on responses.source_customer_id = by_id.customer_id and by_id.customer_type = 'contact'
    left join email_map
        on responses.email_normalized = email_map.email_normalized
    left join customers as guest
        on guest.customer_type = 'guest'
        and guest.customer_id = 'g-' || {{ dbt.hash('responses.email_normalized') }}
)

select
    resolved.response_id,
    resolved.customer_id,
    resolved.score,
    resolved.nps_category,
    resolved.submitted_at,
    {{ to_date('resolved.submitted_at') }} as submitted_date
from resolved
left join customers
    on resolved.customer_id = customers.customer_id
where not coalesce(customers.is_internal, false)
