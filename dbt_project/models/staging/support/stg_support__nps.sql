with ranked as (
    {{ latest_copy(source('raw', 'support_nps'), ['response_id'], ['_file desc', '_line desc']) }}
)

select
    response_id,
    nullif(trim(customer_id), '') as source_customer_id,
    email,
    lower(trim(email)) as email_normalized,
    score,
    case when score >= 9 then 'promoter' when score >= 7 then 'passive' else 'detractor' end as nps_category,
    {{ utc_timestamp('submitted_at') }} as submitted_at,
    _file as source_file,
    _line as source_line
from ranked
where copy_rank = 1
