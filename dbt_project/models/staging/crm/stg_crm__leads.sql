-- Incremental: keys with a copy loaded since the watermark are deduped again from every copy of them.
-- depends_on: {{ ref('int_incremental__state') }}
{{ config(
    materialized=rewrite_materialization(),
    incremental_strategy="rewrite",
    rewrite="raw",
    rewrite_raw_table="crm_leads",
    rewrite_key="lead_id",
    on_schema_change="fail",
) }}
with ranked as (
    select
        *,
        row_number() over (partition by lead_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'crm_leads') }}
    {% if is_incremental() %}where {{ rewritten_rows('raw', key='lead_id', raw_table='crm_leads') }}{% endif %}
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
