-- Incremental: keys with a copy loaded since the watermark are deduped again from every copy of them.
-- depends_on: {{ ref('int_incremental__state') }}
{{ config(
    materialized=rewrite_materialization(),
    incremental_strategy="rewrite",
    rewrite="raw",
    rewrite_raw_table="crm_activities",
    rewrite_key="activity_id",
    on_schema_change="fail",
) }}
with ranked as (
    select
        *,
        row_number() over (partition by activity_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'crm_activities') }}
    {% if is_incremental() %}where {{ rewritten_rows('raw', key='activity_id', raw_table='crm_activities') }}{% endif %}
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
