with ranked as (
    select
        *,
        row_number() over (partition by activity_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'crm_activities') }}
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
