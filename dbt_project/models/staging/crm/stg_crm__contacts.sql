-- One row per contact version (contact_id, updated_at): raw keeps every exported version (history for
-- SCD2); an identical version exported twice keeps the copy from the latest file, then line.
-- Incremental: every version of a contact with a version loaded since the watermark is deduped again.
-- depends_on: {{ ref('int_incremental__state') }}
{{ config(
    materialized=rewrite_materialization(),
    incremental_strategy="rewrite",
    rewrite="raw",
    rewrite_raw_table="crm_contacts",
    rewrite_key="contact_id",
    on_schema_change="fail",
) }}
{% set raw_contacts %}
    {%- if is_incremental() -%}
    (select * from {{ source('raw', 'crm_contacts') }} where {{ rewritten_rows('raw', key='contact_id', raw_table='crm_contacts') }})
    {%- else -%}
    {{ source('raw', 'crm_contacts') }}
    {%- endif -%}
{% endset %}
with ranked as (
    {{ latest_copy(raw_contacts, ['contact_id', 'updated_at'], ['_file desc', '_line desc']) }}
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
