{# Per-customer summaries of support and referrals that dim_customers and mart_relationship_health both read. #}

{# One row per customer with an NPS response in the last var nps_window_days days before as_of_date: the score
   and category of the latest one (ties: the highest response_id). #}
{% macro latest_nps_by_customer() -%}
select customer_id, score, nps_category
from (
    select
        customer_id,
        score,
        nps_category,
        row_number() over (partition by customer_id order by submitted_at desc, response_id desc) as response_rank
    from {{ ref('int_nps__resolved') }}
    where {{ dbt.datediff('submitted_date', as_of_date(), 'day') }} < {{ var('nps_window_days') }}
) as ranked
where response_rank = 1
{%- endmacro %}

{# One row per known customer with a ticket (created within `window_days` days before as_of_date; every ticket
   when none): tickets, SLA-breached, self-service (web), CSAT-rated and rated good. #}
{% macro ticket_counts_by_customer(window_days=none) -%}
select
    customer_id,
    count(*) as tickets,
    sum(case when is_sla_breached then 1 else 0 end) as breached_tickets,
    sum(case when channel = 'web' then 1 else 0 end) as self_service_tickets,
    sum(case when csat_rating is not null then 1 else 0 end) as rated_tickets,
    sum(case when csat_rating = 'good' then 1 else 0 end) as good_ratings
from {{ ref('fct_tickets') }}
where customer_id is not null
{%- if window_days is not none %}
    and {{ dbt.datediff('created_date', as_of_date(), 'day') }} < {{ window_days }}
{%- endif %}
group by customer_id
{%- endmacro %}

{# One row per customer who referred another: the distinct customers with a completed order naming them. #}
{% macro referred_customers_by_referrer() -%}
select referrer_customer_id as customer_id, count(distinct customer_id) as referred_customers
from {{ ref('fct_orders') }}
where is_completed and referrer_customer_id <> customer_id
group by referrer_customer_id
{%- endmacro %}
