with ranked as (
    select
        *,
        row_number() over (partition by lead_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'crm_leads') }}
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
