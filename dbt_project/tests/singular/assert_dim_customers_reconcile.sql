-- dim_customers has one row per resolved non-internal identity, holds the customer of every order in
-- fct_orders, and its net revenue sums to that of fct_orders' completed orders. Returns the comparisons
-- that disagree.
with comparisons as (
    select
        'rows = distinct resolved non-internal identities' as comparison,
        (
            select count(distinct customer_id)
            from {{ ref('int_customers__resolved') }}
            where not is_internal
        ) * 1e0 as expected,
        (select count(*) from {{ ref('dim_customers') }}) * 1e0 as actual,
        0e0 as tolerance
    union all
    select
        'customers of fct_orders missing from dim_customers',
        0e0,
        (
            select count(distinct orders.customer_id)
            from {{ ref('fct_orders') }} as orders
            left join {{ ref('dim_customers') }} as customers
                on orders.customer_id = customers.customer_id
            where customers.customer_id is null
        ) * 1e0,
        0e0
    union all
    select
        'net revenue = fct_orders (completed)',
        (select coalesce(sum(net_revenue), 0) from {{ ref('fct_orders') }} where is_completed) * 1e0,
        (select coalesce(sum(net_revenue), 0) from {{ ref('dim_customers') }}) * 1e0,
        1e-2
)

select *
from comparisons
where abs(expected - actual) > tolerance
