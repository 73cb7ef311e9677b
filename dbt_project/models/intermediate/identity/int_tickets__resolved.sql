-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_tickets') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="ticket", on_schema_change="fail"
) }}
-- Tickets created on or before as_of_date, each in its version current on as_of_date (the latest saved on
-- or before it: priority, channel and status as they stood then), with the customer they belong to: the
-- ticket's customer_id when a known contact, else the contact that used the requester email, else an
-- existing guest with that email, else null (unknown requester). A response or solve after as_of_date has
-- not happened yet. Tickets of internal customers are dropped. Post-purchase: linked to an order, or opened
-- within post_purchase_window_days after the customer's last completed order.
-- Incremental: affected tickets are resolved again from all their versions, and the last-order timeline reads
-- only their customers' orders.
with versions as (
    select
        *,
        row_number() over (
            partition by ticket_id order by updated_at desc, source_file desc, source_line desc
        ) as version_rank
    from {{ ref('stg_support__tickets') }}
    where {{ to_date('updated_at') }} <= {{ as_of_date() }}
        {% if is_incremental() %}and {{ rewritten_rows('ticket') }}{% endif %}
),

tickets as (
    select *
    from versions
    where version_rank = 1 and {{ to_date('created_at') }} <= {{ as_of_date() }}
),

known as (
    {{ resolve_known_customer('tickets', 'source_customer_id', 'requester_email_normalized') }}
),

-- Last completed order on or before each ticket's date, without a range join: orders and tickets in one
-- timeline per customer, a running max over the order dates.
timeline as (
    select
        customer_id, order_date as event_date, 0 as event_order, order_date,
        cast(null as {{ dbt.type_string() }}) as ticket_id
    from {{ ref('int_orders__resolved') }}
    where is_completed
        {% if is_incremental() %}and customer_id in (select customer_id from known){% endif %}
    union all
    select customer_id, {{ to_date('created_at') }}, 1, cast(null as date), ticket_id
    from known
    where customer_id is not null
),

last_order as (
    select
        ticket_id,
        max(order_date) over (
            partition by customer_id order by event_date, event_order
            rows between unbounded preceding and current row
        ) as last_order_date
    from timeline
)

select
    known.ticket_id,
    known.customer_id,
    known.order_id,
    known.requester_email_normalized,
    known.channel,
    known.priority,
    known.category,
    known.status,
    known.created_at,
    case when {{ to_date('known.first_response_at') }} <= {{ as_of_date() }} then known.first_response_at end
        as first_response_at,
    case when {{ to_date('known.solved_at') }} <= {{ as_of_date() }} then known.solved_at end as solved_at,
    known.updated_at,
    last_order.last_order_date,
    known.order_id is not null
    or (
        last_order.last_order_date is not null
        and {{ dbt.datediff('last_order.last_order_date', to_date('known.created_at'), 'day') }}
        <= {{ var('post_purchase_window_days') }}
    ) as is_post_purchase
from known
left join last_order
    on known.ticket_id = last_order.ticket_id
