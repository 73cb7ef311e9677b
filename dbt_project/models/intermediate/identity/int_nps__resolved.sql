-- NPS responses submitted on or before as_of_date, resolved like tickets (contact id, contact email,
-- existing guest, else null); responses of internal customers dropped.
with responses as (
    select *
    from {{ ref('stg_support__nps') }}
    where {{ to_date('submitted_at') }} <= {{ as_of_date() }}
),

resolved as (
    {{ resolve_known_customer('responses', 'source_customer_id', 'email_normalized') }}
)

select
    resolved.response_id,
    resolved.customer_id,
    resolved.score,
    resolved.nps_category,
    resolved.submitted_at,
    {{ to_date('resolved.submitted_at') }} as submitted_date
from resolved
