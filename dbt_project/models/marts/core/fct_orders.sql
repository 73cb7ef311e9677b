-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
{{ config(
    materialized=("table" if target.type == "spark" else "incremental"),
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ incremental_rewrite_all() }} or customer_id in "
        ~ "(select customer_id from {{ ref('int_incremental__affected_customers') }}){% endif %}",
) }}
-- One row per order of a non-internal customer placed on or before as_of_date, amounts in the reporting
-- currency (DECISIONS.md, Money and Orders).
with orders as (
    select * from {{ ref('int_orders__resolved') }}
    where not is_internal_customer
    {% if is_incremental() %}
        -- Incremental contract: only affected customers' orders are rewritten (their rows were deleted above).
        and (
            {{ incremental_rewrite_all() }}
            or customer_id in (select customer_id from {{ ref('int_incremental__affected_customers') }})
        )
    {% endif %}
),

customers as (
    select customer_id, acquisition_channel from {{ ref('int_customers__resolved') }}
),

lines as (
    select order_id, count(*) as line_count, sum(quantity) as item_quantity
    from {{ ref('stg_shop__order_lines') }}
    group by order_id
),

sequenced as (
    select
        orders.*,
        case
            when orders.is_completed then row_number() over (
                partition by orders.customer_id, orders.is_completed order by orders.created_at, orders.order_id
            )
        end as completed_order_number
    from orders
)

select
    cast(sequenced.order_id as {{ dbt.type_string() }}) as order_id,
    cast(sequenced.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(sequenced.customer_type as {{ dbt.type_string() }}) as customer_type,
    cast(customers.acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
    cast(sequenced.order_number as {{ dbt.type_bigint() }}) as order_number,
    cast(sequenced.created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(sequenced.order_date as date) as order_date,
    cast(sequenced.order_month as date) as order_month,
    cast(sequenced.status as {{ dbt.type_string() }}) as status,
    cast(sequenced.is_completed as {{ dbt.type_boolean() }}) as is_completed,
    cast(sequenced.currency as {{ dbt.type_string() }}) as currency,
    cast(sequenced.fx_rate as {{ type_double() }}) as fx_rate,
    cast(sequenced.subtotal as {{ type_double() }}) as gross_revenue,
    cast(sequenced.discount_total as {{ type_double() }}) as discount,
    cast(sequenced.refunds as {{ type_double() }}) as refunds,
    cast(sequenced.net_revenue as {{ type_double() }}) as net_revenue,
    cast(sequenced.tax_total as {{ type_double() }}) as tax,
    cast(sequenced.shipping_total as {{ type_double() }}) as shipping,
    cast(sequenced.total as {{ type_double() }}) as total,
    cast(sequenced.promo_code as {{ dbt.type_string() }}) as promo_code,
    cast(coalesce(sequenced.promo_code like 'LOYAL%', false) as {{ dbt.type_boolean() }}) as is_loyalty_promo,
    cast(sequenced.referral_code as {{ dbt.type_string() }}) as referral_code,
    cast(
        case
            when sequenced.referral_code like 'REF-%' then {{ dbt.replace('sequenced.referral_code', "'REF-'", "''") }}
        end
        as {{ dbt.type_string() }}
    ) as referrer_customer_id,
    cast(sequenced.refund_count as {{ dbt.type_bigint() }}) as refund_count,
    cast(sequenced.completed_order_number as {{ dbt.type_bigint() }}) as completed_order_number,
    cast(coalesce(sequenced.completed_order_number = 1, false) as {{ dbt.type_boolean() }}) as is_first_order,
    cast(coalesce(lines.line_count, 0) as {{ dbt.type_bigint() }}) as line_count,
    cast(coalesce(lines.item_quantity, 0) as {{ dbt.type_bigint() }}) as item_quantity,
    cast((select current_watermark from {{ ref('int_incremental__state') }}) as {{ dbt.type_timestamp() }})
        as _processed_through
from sequenced
left join customers
    on sequenced.customer_id = customers.customer_id
left join lines
    on sequenced.order_id = lines.order_id
