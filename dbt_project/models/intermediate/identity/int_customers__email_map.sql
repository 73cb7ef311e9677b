-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__touched_contacts') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="email", on_schema_change="fail"
) }}
-- One row per normalised email seen on any known contact version, mapped to the lowest contact_id that
-- ever used it (DECISIONS.md, resolution step 2) and to that contact's customer (contacts sharing a current
-- email are one customer).
with used as (
    select
        email_normalized,
        min(contact_id) as contact_id
    from {{ ref('stg_crm__contacts') }}
    where {{ to_date('updated_at') }} <= {{ as_of_date() }}
        and {{ to_date('created_at') }} <= {{ as_of_date() }}
        and email_normalized is not null
        {% if is_incremental() %}and {{ rewritten_rows('email') }}{% endif %}
    group by email_normalized
)

select
    used.email_normalized,
    used.contact_id,
    contacts.customer_id
from used
inner join {{ ref('int_crm__contacts_known') }} as contacts
    on used.contact_id = contacts.contact_id
