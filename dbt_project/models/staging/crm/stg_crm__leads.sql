with ranked as (
    {{ latest_copy(source('raw', 'crm_leads'), ['lead_id'], ['_file desc', '_line desc']) }}
)

select
    lead_id,
    email,
    lower(trim(email)) as email_normalized,
    source_channel,
    status,
    converted_contact_id,
    {{ utc_timestamp('created_at') }} as created_at,
    _file as source_file,
    _line as source_line
from ranked
where copy_rank = 1
