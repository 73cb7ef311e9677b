{#- SCD2 of CRM contacts: each run captures the latest exported version of every contact; a contact whose
    updated_at moved gets a new row (dbt_valid_from/dbt_valid_to). raw also holds every exported version, so
    dim_contacts_history answers "segment at date X" for the full past even before the first snapshot run. -#}
{% snapshot snp_crm__contacts %}
{{ config(unique_key='contact_id', strategy='timestamp', updated_at='updated_at') }}
select
    contact_id,
    email_normalized,
    segment,
    acquisition_channel,
    account_manager,
    marketing_opt_in,
    is_internal,
    country,
    created_at,
    updated_at
from (
    select
        *,
        row_number() over (
            partition by contact_id order by updated_at desc, source_file desc, source_line desc
        ) as version_rank
    from {{ ref('stg_crm__contacts') }}
) as versions
where version_rank = 1
{% endsnapshot %}
