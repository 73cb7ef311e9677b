-- One row: where the previous build of the incremental facts stopped (DECISIONS.md, Incremental processing).
-- previous_watermark: the latest raw _loaded_at that build had seen (null = no usable previous build, so
-- the facts rebuild every row); lookback_from: previous_watermark less var incremental_lookback_hours, the
-- raw rows loaded from then on are re-processed; current_watermark: what this build has seen;
-- previous_as_of_date / as_of_date: the analysis dates of the previous build and of this one.
{% set facts = previous_facts() %}
with raw_loads as (
    {% for table in ['shop_orders', 'shop_refunds', 'shop_order_lines', 'shop_exchange_rates', 'support_tickets',
                     'support_csat', 'support_nps', 'crm_contacts', 'crm_activities'] %}
    select max(_loaded_at) as loaded_at from {{ source('raw', table) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

previous as (
    {% if facts %}
    select
        (select min(w) from (
            {% for fact in facts %}
            select max(_processed_through) as w from {{ fact }}
            {% if not loop.last %}union all{% endif %}
            {% endfor %}
        ) as watermarks) as previous_watermark,
        (select max(month_end) from {{ facts[2] }}) as previous_as_of_date
    {% else %}
    select
        cast(null as {{ dbt.type_timestamp() }}) as previous_watermark,
        cast(null as date) as previous_as_of_date
    {% endif %}
)

select
    cast(previous.previous_watermark as {{ dbt.type_timestamp() }}) as previous_watermark,
    cast(
        {{ dbt.dateadd('hour', -1 * (var('incremental_lookback_hours') | int), 'previous.previous_watermark') }}
        as {{ dbt.type_timestamp() }}
    ) as lookback_from,
    cast((select max(loaded_at) from raw_loads) as {{ dbt.type_timestamp() }}) as current_watermark,
    cast(previous.previous_as_of_date as date) as previous_as_of_date,
    cast({{ as_of_date() }} as date) as as_of_date
from previous
