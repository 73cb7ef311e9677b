-- One row per non-internal CRM contact version saved on or before as_of_date, valid from its updated_at
-- until the next version's (valid_to exclusive, null for the current version). Segment at date X:
--   where valid_from <= X and (valid_to > X or valid_to is null)
with versions as (
    select *
    from {{ ref('stg_crm__contacts') }}
    where {{ to_date('updated_at') }} <= {{ as_of_date() }}
),

internal as (
    select contact_id from {{ ref('int_crm__contacts_known') }}
    where is_internal
)

select
    cast(versions.contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(versions.updated_at as {{ dbt.type_timestamp() }}) as valid_from,
    cast(
        lead(versions.updated_at) over (partition by versions.contact_id order by versions.updated_at)
        as {{ dbt.type_timestamp() }}
    ) as valid_to,
    cast(
        lead(versions.updated_at) over (partition by versions.contact_id order by versions.updated_at) is null
        as {{ dbt.type_boolean() }}
    ) as is_current,
    cast(versions.segment as {{ dbt.type_string() }}) as segment,
    cast(versions.account_manager as {{ dbt.type_string() }}) as account_manager,
    cast(versions.acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(versions.marketing_opt_in as {{ dbt.type_boolean() }}) as marketing_opt_in,
    cast(versions.country as {{ dbt.type_string() }}) as country
from versions
left join internal
    on versions.contact_id = internal.contact_id
where internal.contact_id is null
