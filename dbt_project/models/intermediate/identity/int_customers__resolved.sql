-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="customer", on_schema_change="fail"
) }}
-- One row per customer known on as_of_date: every known CRM contact (ordered or not; contacts sharing a
-- current email are one customer) plus every guest checkout email without a contact. Internal/test accounts
-- are kept with is_internal = true so marts can drop them (DECISIONS.md, Customers and identity).
-- Incremental: an affected customer's rows are rebuilt from all its contacts (selected by customer_id).
with contact_rows as (
    select * from {{ ref('int_crm__contacts_known') }}
    {% if is_incremental() %}where {{ rewritten_rows('customer') }}{% endif %}
),

-- One row per customer: current attributes from its lowest contact (the customer id), the channel of the
-- contact created first (ties: lowest id), created when its first contact was.
contacts as (
    select
        canonical.customer_id as contact_id,
        canonical.email_normalized,
        first_created.acquisition_channel,
        canonical.segment,
        canonical.account_manager,
        canonical.marketing_opt_in,
        canonical.country,
        first_created.created_at,
        canonical.customer_is_internal as is_internal
    from contact_rows as canonical
    inner join (
        select
            customer_id,
            acquisition_channel,
            created_at,
            row_number() over (partition by customer_id order by created_at, contact_id) as created_rank
        from contact_rows
    ) as first_created
        on canonical.customer_id = first_created.customer_id and first_created.created_rank = 1
    where canonical.contact_id = canonical.customer_id
),

orders as (
    select * from {{ ref('int_orders__resolved') }}
    {% if is_incremental() %}where {{ rewritten_rows('customer') }}{% endif %}
),

order_summary as (
    select
        customer_id,
        min(created_at) as first_any_order_at,
        min(case when is_completed then order_date end) as first_order_date,
        max(case when is_completed then order_date end) as last_order_date
    from orders
    group by customer_id
),

guests as (
    select
        customer_id,
        min(email_normalized) as email_normalized,
        {{ dbt.bool_or('is_internal_customer') }} as is_internal
    from orders
    where customer_type = 'guest'
    group by customer_id
),

customers as (
    select
        contact_id as customer_id,
        'contact' as customer_type,
        email_normalized,
        acquisition_channel,
        segment,
        account_manager,
        marketing_opt_in,
        country,
        created_at,
        is_internal
    from contacts
    union all
    select
        customer_id,
        'guest' as customer_type,
        email_normalized,
        'unknown' as acquisition_channel,
        cast(null as {{ dbt.type_string() }}) as segment,
        cast(null as {{ dbt.type_string() }}) as account_manager,
        cast(null as {{ dbt.type_boolean() }}) as marketing_opt_in,
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as {{ dbt.type_timestamp() }}) as created_at,
        is_internal
    from guests
)

select
    customers.customer_id,
    customers.customer_type,
    customers.email_normalized,
    coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel,
    customers.segment,
    customers.account_manager,
    customers.marketing_opt_in,
    customers.country,
    customers.is_internal,
    {{ to_date(
        'case when order_summary.first_any_order_at is null or customers.created_at <= order_summary.first_any_order_at'
        ~ ' then customers.created_at else order_summary.first_any_order_at end'
    ) }} as first_known_date,
    order_summary.first_order_date,
    order_summary.last_order_date
from customers
left join order_summary
    on customers.customer_id = order_summary.customer_id
