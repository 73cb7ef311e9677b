-- One row per cohort month, acquisition channel (plus 'all') and entry point: how many of the people who entered
-- the funnel in that month reached each lifecycle step by as_of_date, the conversion between steps and the median
-- days between them (DECISIONS.md, Lifecycle funnel). A step that happens months later counts to the entry month.
with known_contacts as (
    select contact_id, is_internal, created_at, {{ to_date('created_at') }} as contact_date
    from {{ ref('int_crm__contacts_known') }}
),

customers as (
    select customer_id, customer_type, acquisition_channel
    from {{ ref('int_customers__resolved') }}
    where not is_internal
),

-- Leads created by as_of_date. A lead is converted when converted_contact_id names a contact known by
-- as_of_date; it is internal when that contact is, or (unconverted) when its email is at an internal domain.
leads as (
    select
        leads.lead_id,
        leads.created_at,
        {{ to_date('leads.created_at') }} as lead_date,
        coalesce(leads.source_channel, 'unknown') as acquisition_channel,
        known_contacts.contact_id,
        known_contacts.contact_date,
        coalesce(known_contacts.is_internal, {{ is_internal_email('leads.email_normalized') }}) as is_internal
    from {{ ref('stg_crm__leads') }} as leads
    left join known_contacts
        on leads.converted_contact_id = known_contacts.contact_id
    where {{ to_date('leads.created_at') }} <= {{ as_of_date() }}
),

-- A contact's origin is its earliest lead created on or before the contact; its other leads count as leads only.
origin_leads as (
    select lead_id, contact_id
    from (
        select
            lead_id,
            contact_id,
            row_number() over (partition by contact_id order by created_at, lead_id) as lead_rank
        from leads
        where contact_id is not null and not is_internal and lead_date <= contact_date
    ) as ranked
    where lead_rank = 1
),

-- First and second purchase day (days with a completed order; fct_orders holds non-internal customers only, as
-- int_clv__purchase_days does), by two aggregations: numbering every purchase day with a window cost more, and
-- the guests' entry read it a second time.
first_purchases as (
    select customer_id, min(order_date) as first_purchase_date
    from {{ ref('fct_orders') }}
    where is_completed
    group by customer_id
),

purchases as (
    select
        first_purchases.customer_id,
        first_purchases.first_purchase_date,
        min(orders.order_date) as second_purchase_date
    from first_purchases
    left join {{ ref('fct_orders') }} as orders
        on first_purchases.customer_id = orders.customer_id
        and orders.is_completed
        and orders.order_date > first_purchases.first_purchase_date
    group by first_purchases.customer_id, first_purchases.first_purchase_date
),

entrants as (
    select
        'lead' as entry_point,
        leads.lead_date as entry_date,
        leads.acquisition_channel,
        leads.lead_date,
        origin_leads.contact_id as customer_id,
        leads.contact_date
    from leads
    left join origin_leads
        on leads.lead_id = origin_leads.lead_id
    where not leads.is_internal
    union all
    select
        'contact' as entry_point,
        known_contacts.contact_date as entry_date,
        customers.acquisition_channel,
        cast(null as date) as lead_date,
        customers.customer_id,
        known_contacts.contact_date
    from customers
    inner join known_contacts
        on customers.customer_id = known_contacts.contact_id
    left join origin_leads
        on customers.customer_id = origin_leads.contact_id
    where origin_leads.contact_id is null
    union all
    select
        'guest' as entry_point,
        purchases.first_purchase_date as entry_date,
        customers.acquisition_channel,
        cast(null as date) as lead_date,
        customers.customer_id,
        cast(null as date) as contact_date
    from customers
    inner join purchases
        on customers.customer_id = purchases.customer_id
    where customers.customer_type = 'guest'
),

-- Advocacy: another customer's completed order carries this customer's referral code.
referrals as (
    select referrer_customer_id as customer_id, min(order_date) as first_referral_date
    from {{ ref('fct_orders') }}
    where is_completed and referrer_customer_id <> customer_id
    group by referrer_customer_id
),

-- The date each step is reached: its own event, but never before the previous step (a funnel is ordered).
contact_step as (
    select
        entrants.*,
        purchases.first_purchase_date,
        purchases.second_purchase_date,
        referrals.first_referral_date,
        case when entrants.entry_point <> 'guest' and entrants.customer_id is not null then entrants.contact_date end
            as contact_reached
    from entrants
    left join purchases
        on entrants.customer_id = purchases.customer_id
    left join referrals
        on entrants.customer_id = referrals.customer_id
),

purchase_step as (
    select
        *,
        case
            when entry_point = 'guest' then first_purchase_date
            when contact_reached is not null and first_purchase_date is not null
                then greatest(first_purchase_date, contact_reached)
        end as purchase_reached
    from contact_step
),

repeat_step as (
    select
        *,
        case
            when purchase_reached is not null and second_purchase_date is not null
                then greatest(second_purchase_date, purchase_reached)
        end as repeat_reached
    from purchase_step
),

advocate_step as (
    select
        *,
        case
            when repeat_reached is not null and first_referral_date is not null
                then greatest(first_referral_date, repeat_reached)
        end as advocate_reached
    from repeat_step
),

steps as (
    select
        *,
        {{ month_start('entry_date') }} as cohort_month,
        {{ dbt.datediff('lead_date', 'contact_reached', 'day') }} as days_lead_to_contact,
        {{ dbt.datediff('contact_reached', 'purchase_reached', 'day') }} as days_contact_to_purchase,
        {{ dbt.datediff('purchase_reached', 'repeat_reached', 'day') }} as days_purchase_to_repeat,
        {{ dbt.datediff('repeat_reached', 'advocate_reached', 'day') }} as days_repeat_to_advocate
    from advocate_step
),

funnel as (
    select
        cohort_month,
        coalesce(acquisition_channel, 'all') as acquisition_channel,
        entry_point,
        count(*) as entrants,
        count(contact_reached) as contacts,
        count(purchase_reached) as purchasers,
        count(repeat_reached) as repeat_purchasers,
        count(advocate_reached) as advocates,
        percentile_cont(0.5) within group (order by days_lead_to_contact) as median_days_lead_to_contact,
        percentile_cont(0.5) within group (order by days_contact_to_purchase) as median_days_contact_to_purchase,
        percentile_cont(0.5) within group (order by days_purchase_to_repeat) as median_days_purchase_to_repeat,
        percentile_cont(0.5) within group (order by days_repeat_to_advocate) as median_days_repeat_to_advocate
    from steps
    group by grouping sets (
        (cohort_month, entry_point, acquisition_channel),
        (cohort_month, entry_point)
    )
),

counted as (
    select
        cohort_month,
        acquisition_channel,
        entry_point,
        case entry_point when 'lead' then 'awareness' when 'contact' then 'contact' else 'purchase' end
            as funnel_start,
        case when entry_point = 'lead' then entrants end as leads,
        case when entry_point <> 'guest' then contacts end as contacts,
        purchasers,
        repeat_purchasers,
        advocates,
        median_days_lead_to_contact,
        median_days_contact_to_purchase,
        median_days_purchase_to_repeat,
        median_days_repeat_to_advocate
    from funnel
)

select
    cast(cohort_month as date) as cohort_month,
    cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(entry_point as {{ dbt.type_string() }}) as entry_point,
    cast(funnel_start as {{ dbt.type_string() }}) as funnel_start,
    cast(leads as {{ dbt.type_bigint() }}) as leads,
    cast(contacts as {{ dbt.type_bigint() }}) as contacts,
    cast(purchasers as {{ dbt.type_bigint() }}) as purchasers,
    cast(repeat_purchasers as {{ dbt.type_bigint() }}) as repeat_purchasers,
    cast(advocates as {{ dbt.type_bigint() }}) as advocates,
    cast(contacts * 1e0 / nullif(leads, 0) as {{ type_double() }}) as lead_to_contact_rate,
    cast(purchasers * 1e0 / nullif(contacts, 0) as {{ type_double() }}) as contact_to_purchase_rate,
    cast(repeat_purchasers * 1e0 / nullif(purchasers, 0) as {{ type_double() }}) as purchase_to_repeat_rate,
    cast(advocates * 1e0 / nullif(repeat_purchasers, 0) as {{ type_double() }}) as repeat_to_advocate_rate,
    cast(median_days_lead_to_contact as {{ type_double() }}) as median_days_lead_to_contact,
    cast(median_days_contact_to_purchase as {{ type_double() }}) as median_days_contact_to_purchase,
    cast(median_days_purchase_to_repeat as {{ type_double() }}) as median_days_purchase_to_repeat,
    cast(median_days_repeat_to_advocate as {{ type_double() }}) as median_days_repeat_to_advocate
from counted
