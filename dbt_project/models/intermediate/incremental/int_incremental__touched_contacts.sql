-- depends_on: {{ ref('int_incremental__state') }}
-- CRM contacts whose identity rows this build rewrites (DECISIONS.md, Incremental processing), one row per
-- version: contacts with a version loaded since the watermark, contacts that become known because as_of_date
-- moved past their creation or update date, and every contact whose current email (in the previous build) is
-- one a touched contact used: contacts sharing a current email are one customer, so a contact that joins or
-- leaves an email can change the customer of every contact on it. Every email any version of them used is
-- listed: the email map, and the orders and guests with those emails, are rewritten with them.
{% set previous_known = adapter.get_relation(
    database=target.database, schema='intermediate', identifier='int_crm__contacts_known'
) if execute else none %}
with versions as (
    select contact_id, email_normalized, created_at, updated_at from {{ ref('stg_crm__contacts') }}
),

changed as (
    select contact_id from {{ source('raw', 'crm_contacts') }} where {{ loaded_since_watermark() }}
    union
    select contact_id
    from versions
    where {{ to_date('created_at') }} > (select previous_as_of_date from {{ ref('int_incremental__state') }})
        or {{ to_date('updated_at') }} > (select previous_as_of_date from {{ ref('int_incremental__state') }})
),

touched as (
    select contact_id from changed
    {% if previous_known is not none %}
    union
    select previous.contact_id
    from {{ previous_known }} as previous
    inner join versions
        on previous.email_normalized = versions.email_normalized
    inner join changed
        on versions.contact_id = changed.contact_id
    {% endif %}
)

select distinct versions.contact_id, versions.email_normalized
from versions
inner join touched
    on versions.contact_id = touched.contact_id
