with ranked as (
    {{ latest_copy(source('raw', 'crm_activities'), ['activity_id'], ['_file desc', '_line desc']) }}
)

select
    activity_id,
    contact_id,
    activity_type,
    campaign,
    {{ utc_timestamp('occurred_at') }} as occurred_at,
    _file as source_file,
    _line as source_line
from ranked
where copy_rank = 1
