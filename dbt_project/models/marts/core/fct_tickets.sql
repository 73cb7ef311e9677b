-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_tickets') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="ticket", on_schema_change="fail"
) }}
-- One row per support ticket created on or before as_of_date (unknown requesters kept with a null
-- customer_id, internal customers' tickets dropped), with response/resolution hours and SLA flags
-- against the per-priority targets (vars sla_first_response_hours, sla_resolution_hours).
with tickets as (
    select * from {{ ref('int_tickets__resolved') }}
    -- Incremental: only affected tickets are written again.
    {% if is_incremental() %}where {{ rewritten_rows('ticket') }}{% endif %}
),

csat as (
    select
        ticket_id,
        rating,
        row_number() over (partition by ticket_id order by created_at desc, rating_id desc) as rating_rank
    from {{ ref('stg_support__csat') }}
    where {{ to_date('created_at') }} <= {{ as_of_date() }}
),

measured as (
    select
        tickets.*,
        csat.rating as csat_rating,
        {{ hours_between('tickets.created_at', 'tickets.first_response_at') }} as first_response_hours,
        {{ hours_between('tickets.created_at', 'tickets.solved_at') }} as resolution_hours,
        -- hours the ticket has been waiting by the end of as_of_date, for tickets still unanswered/unsolved
        {{ hours_between(
            'tickets.created_at', 'cast(' ~ dbt.dateadd('day', 1, as_of_date()) ~ ' as ' ~ dbt.type_timestamp() ~ ')'
        ) }}
            as open_hours,
        {{ sla_hours('tickets.priority', var('sla_first_response_hours')) }} as first_response_target_hours,
        {{ sla_hours('tickets.priority', var('sla_resolution_hours')) }} as resolution_target_hours
    from tickets
    left join csat
        on tickets.ticket_id = csat.ticket_id and csat.rating_rank = 1
),

flagged as (
    select
        *,
        coalesce(coalesce(first_response_hours, open_hours) > first_response_target_hours, false)
            as breached_first_response_sla,
        coalesce(coalesce(resolution_hours, open_hours) > resolution_target_hours, false) as breached_resolution_sla
    from measured
)

select
    cast(ticket_id as {{ dbt.type_string() }}) as ticket_id,
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(order_id as {{ dbt.type_string() }}) as order_id,
    cast(channel as {{ dbt.type_string() }}) as channel,
    cast(priority as {{ dbt.type_string() }}) as priority,
    cast(category as {{ dbt.type_string() }}) as category,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast({{ to_date('created_at') }} as date) as created_date,
    cast(first_response_at as {{ dbt.type_timestamp() }}) as first_response_at,
    cast(solved_at as {{ dbt.type_timestamp() }}) as solved_at,
    cast(first_response_hours as {{ type_double() }}) as first_response_hours,
    cast(resolution_hours as {{ type_double() }}) as resolution_hours,
    cast(first_response_target_hours as {{ type_double() }}) as first_response_target_hours,
    cast(resolution_target_hours as {{ type_double() }}) as resolution_target_hours,
    cast(breached_first_response_sla as {{ dbt.type_boolean() }}) as breached_first_response_sla,
    cast(breached_resolution_sla as {{ dbt.type_boolean() }}) as breached_resolution_sla,
    cast(breached_first_response_sla or breached_resolution_sla as {{ dbt.type_boolean() }}) as is_sla_breached,
    cast(solved_at is not null as {{ dbt.type_boolean() }}) as is_solved,
    cast(is_post_purchase as {{ dbt.type_boolean() }}) as is_post_purchase,
    cast(last_order_date as date) as last_order_date,
    cast(csat_rating as {{ dbt.type_string() }}) as csat_rating,
    cast((select current_watermark from {{ ref('int_incremental__state') }}) as {{ dbt.type_timestamp() }})
        as _processed_through
from flagged
