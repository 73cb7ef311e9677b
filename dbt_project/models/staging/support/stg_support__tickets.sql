-- One row per ticket: its latest version (updated_at, then file name, then line).
-- Incremental: keys with a copy loaded since the watermark are deduped again from every copy of them.
-- depends_on: {{ ref('int_incremental__state') }}
{{ config(
    materialized="incremental",
    incremental_strategy="rewrite",
    rewrite="raw",
    rewrite_raw_table="support_tickets",
    rewrite_key="ticket_id",
    on_schema_change="fail",
) }}
with ranked as (
    select
        *,
        row_number() over (
            partition by ticket_id order by updated_at desc, _file desc, _line desc
        ) as version_rank
    from {{ source('raw', 'support_tickets') }}
    {% if is_incremental() %}where {{ rewritten_rows('raw', key='ticket_id', raw_table='support_tickets') }}{% endif %}
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
where version_rank = 1
