-- One row per ticket version (ticket_id, updated_at): a ticket is exported again at each change, and the
-- marts read the version current on as_of_date (int_tickets__resolved), so a later re-prioritisation does not
-- rewrite the past. An identical version exported twice keeps the copy from the latest file, then line.
with ranked as (
    {{ latest_copy(source('raw', 'support_tickets'), ['ticket_id', 'updated_at'], ['_file desc', '_line desc']) }}
)

select
    ticket_id,
    requester_email,
    lower(trim(requester_email)) as requester_email_normalized,
    nullif(trim(customer_id), '') as source_customer_id,
    nullif(trim(order_id), '') as order_id,
    channel,
    priority,
    category,
    status,
    {{ utc_timestamp('created_at') }} as created_at,
    {{ utc_timestamp('first_response_at') }} as first_response_at,
    {{ utc_timestamp('solved_at') }} as solved_at,
    {{ utc_timestamp('updated_at') }} as updated_at,
    _file as source_file,
    _line as source_line
from ranked
where copy_rank = 1
