-- depends_on: {{ ref('int_as_of_date__resolved') }}
-- depends_on: {{ ref('int_incremental__state') }}
-- depends_on: {{ ref('int_incremental__affected_customers') }}
{{ config(
    materialized=rewrite_materialization(), incremental_strategy="rewrite", rewrite="customer", on_schema_change="fail"
) }}
-- One row per order of a non-internal customer placed on or before as_of_date, amounts in the reporting
-- currency (DECISIONS.md, Money and Orders).
with orders as (
    select * from {{ ref('int_orders__resolved') }}
    where not is_internal_customer
    -- Incremental: affected customers' orders are written again (the completed-order number is per customer).
    {% if is_incremental() %}and {{ rewritten_rows('customer') }}{% endif %}
),

customers as (
    select customer_id, acquisition_channel from {{ ref('int_customers__resolved') }}
),

lines as (
    select order_id, count(*) as line_count, sum(quantity) as item_quantity
    from {{ ref('stg_shop__order_lines') }}
    {% if is_incremental() %}where order_id in (select order_id from orders){% endif %}
    group by order_id
),

-- The completed-order number, numbered over the three columns it needs (a window over the wide order rows
-- sorts every column of every order).
numbered as (
    select
        order_id,
        row_number() over (partition by customer_id order by created_at, order_id) as completed_order_number
    from orders
    where is_completed
),

sequenced as (
    select
        orders.*,
        numbered.completed_order_number
    from orders
    left join numbered
        on orders.order_id = numbered.order_id
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
