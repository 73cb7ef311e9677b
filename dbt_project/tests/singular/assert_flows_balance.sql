-- Customer flows balance: customers_end - customers_start = gained + won_back - lost, start = kept + lost,
-- and each month starts with the previous month's end.
select *
from (
    select
        *,
        lag(customers_end) over (partition by acquisition_channel order by month_start) as previous_end
    from {{ ref('mart_customer_flows') }}
) as flows
where customers_end - customers_start <> net_change
    or customers_start <> kept + lost
    or customers_start <> coalesce(previous_end, 0)
