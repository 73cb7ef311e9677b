-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__touched_contacts') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="contact", on_schema_change="fail"
) }}
-- One row per CRM contact known on as_of_date (a version saved on or before it), with its identity
-- attributes: channel from the earliest version, current attributes from the latest version, internal
-- if any version is flagged or uses an internal email domain (DECISIONS.md, Customers and identity).
-- customer_id: contacts whose latest versions share a normalised email are one customer, the lowest contact_id;
-- customer_is_internal: any contact of that customer is internal.
with versions as (
    select
        *,
        row_number() over (partition by contact_id order by updated_at, source_file, source_line) as version_asc,
        row_number() over (
            partition by contact_id order by updated_at desc, source_file desc, source_line desc
        ) as version_desc
    from {{ ref('stg_crm__contacts') }}
    where {{ to_date('updated_at') }} <= {{ as_of_date() }}
        and {{ to_date('created_at') }} <= {{ as_of_date() }}
        {% if is_incremental() %}and {{ rewritten_rows('contact') }}{% endif %}
),

per_contact as (
    select
        contact_id,
        min(created_at) as created_at,
        count(*) as version_count,
        {{ dbt.bool_or('is_internal or ' ~ is_internal_email('email_normalized')) }} as is_internal
    from versions
    group by contact_id
),

contacts as (
    select
        per_contact.contact_id,
        latest.email_normalized,
        earliest.acquisition_channel,
        latest.segment,
        latest.account_manager,
        latest.marketing_opt_in,
        latest.country,
        per_contact.created_at,
        per_contact.version_count,
        per_contact.is_internal
    from per_contact
    inner join versions as earliest
        on per_contact.contact_id = earliest.contact_id and earliest.version_asc = 1
    inner join versions as latest
        on per_contact.contact_id = latest.contact_id and latest.version_desc = 1
)

select
    contacts.*,
    case
        when contacts.email_normalized is null then contacts.contact_id
        else min(contacts.contact_id) over (partition by contacts.email_normalized)
    end as customer_id,
    {{ dbt.bool_or('contacts.is_internal') }} over (
        partition by coalesce(contacts.email_normalized, contacts.contact_id)
    ) as customer_is_internal
from contacts
