-- Incremental: keys with a copy loaded since the watermark are deduped again from every copy of them.
-- depends_on: {{ ref('int_incremental__state') }}
{{ config(
    materialized=rewrite_materialization(),
    incremental_strategy="rewrite",
    rewrite="raw",
    rewrite_raw_table="support_nps",
    rewrite_key="response_id",
    on_schema_change="fail",
) }}
with ranked as (
    select
        *,
        row_number() over (partition by response_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'support_nps') }}
    {% if is_incremental() %}where {{ rewritten_rows('raw', key='response_id', raw_table='support_nps') }}{% endif %}
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
