-- Incremental: keys with a copy loaded since the watermark are deduped again from every copy of them.
-- depends_on: {{ ref('int_incremental__state') }}
{{ config(
    materialized=rewrite_materialization(),
    incremental_strategy="rewrite",
    rewrite="raw",
    rewrite_raw_table="support_csat",
    rewrite_key="rating_id",
    on_schema_change="fail",
) }}
with ranked as (
    select
        *,
        row_number() over (partition by rating_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'support_csat') }}
    {% if is_incremental() %}where {{ rewritten_rows('raw', key='rating_id', raw_table='support_csat') }}{% endif %}
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
