-- One row per contact version (contact_id, updated_at): raw keeps every exported version (history for
-- SCD2); an identical version exported twice keeps the copy from the latest file, then line.
with ranked as (
    {{ latest_copy(source('raw', 'crm_contacts'), ['contact_id', 'updated_at'], ['_file desc', '_line desc']) }}
)

select
    contact_id,
    email,
    lower(trim(email)) as email_normalized,
    first_name,
    last_name,
    phone,
    upper(trim(country)) as country,
    segment,
    acquisition_channel,
    nullif(trim(account_manager), '') as account_manager,
    marketing_opt_in,
    coalesce(is_internal, false) as is_internal,
    {{ utc_timestamp('created_at') }} as created_at,
    {{ utc_timestamp('updated_at') }} as updated_at,
    _file as source_file,
    _line as source_line
from ranked
where copy_rank = 1
