-- The analysis date, resolved in this one place (DECISIONS.md, Time and dates): var as_of_date, or
-- else the latest UTC event date in the data (never the wall clock). Read it through macro as_of_date().
-- The refs stay outside any condition on the var: a model's dependencies never depend on a var, so the
-- graph dbt runs with a pinned date is the manifest Dagster loaded.
with event_dates as (
    select max({{ to_date('created_at') }}) as event_date from {{ ref('stg_shop__orders') }}
    union all
    select max({{ to_date('created_at') }}) from {{ ref('stg_shop__refunds') }}
    union all
    select max({{ to_date('created_at') }}) from {{ ref('stg_support__tickets') }}
    union all
    select max({{ to_date('created_at') }}) from {{ ref('stg_support__csat') }}
    union all
    select max({{ to_date('submitted_at') }}) from {{ ref('stg_support__nps') }}
    union all
    select max({{ to_date('updated_at') }}) from {{ ref('stg_crm__contacts') }}
    union all
    select max({{ to_date('occurred_at') }}) from {{ ref('stg_crm__activities') }}
),

latest as (
    select max(event_date) as latest_event_date from event_dates
)

select
    {% if var('as_of_date') -%}
    cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
    cast(latest_event_date as date)
    {%- endif %} as as_of_date
from latest
