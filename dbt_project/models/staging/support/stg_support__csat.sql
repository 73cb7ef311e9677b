with ranked as (
    {{ latest_copy(source('raw', 'support_csat'), ['rating_id'], ['_file desc', '_line desc']) }}
)

select
    rating_id,
    ticket_id,
    rating,
    rating = 'good' as is_positive,
    {{ utc_timestamp('created_at') }} as created_at,
    _file as source_file,
    _line as source_line
from ranked
where copy_rank = 1
