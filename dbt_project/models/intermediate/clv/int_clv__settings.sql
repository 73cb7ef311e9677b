-- One row: the CLV settings of this build (vars), read by the Python CLV step.
select
    {{ as_of_date() }} as as_of_date,
    cast({{ var('clv_time_unit_days') }} as {{ type_double() }}) as time_unit_days,
    cast({{ var('clv_horizon_months') }} as {{ dbt.type_int() }}) as horizon_months,
    cast({{ var('clv_annual_discount_rate') }} as {{ type_double() }}) as annual_discount_rate,
    cast({{ var('clv_margin') }} as {{ type_double() }}) as margin
