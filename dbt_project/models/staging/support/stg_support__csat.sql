with ranked as (
    select
        *,
        row_number() over (partition by rating_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'support_csat') }}
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
