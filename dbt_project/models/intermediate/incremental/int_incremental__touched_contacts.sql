-- depends_on: {{ ref('int_incremental__state') }}
-- CRM contacts whose identity rows this build rewrites (DECISIONS.md, Incremental processing), one row per
-- version: contacts with a version loaded since the watermark, and contacts that become known because
-- as_of_date moved past their creation or update date. Every email any version of them used is listed: the
-- email map, and the orders and guests with those emails, are rewritten with them.
with versions as (
    select contact_id, email_normalized, created_at, updated_at from {{ ref('stg_crm__contacts') }}
),

touched as (
    select contact_id from {{ source('raw', 'crm_contacts') }} where {{ loaded_since_watermark() }}
    union
    select contact_id
    from versions
    where {{ to_date('created_at') }} > (select previous_as_of_date from {{ ref('int_incremental__state') }})
        or {{ to_date('updated_at') }} > (select previous_as_of_date from {{ ref('int_incremental__state') }})
)

select distinct versions.contact_id, versions.email_normalized
from versions
inner join touched
    on versions.contact_id = touched.contact_id
