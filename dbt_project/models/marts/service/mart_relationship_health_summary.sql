-- One row per health band: how many customers, their average score and how many are still retained
-- (live lifecycle stage in the as_of_date month) or churned.
select
    cast(health_band as {{ dbt.type_string() }}) as health_band,
    cast(count(*) as {{ dbt.type_bigint() }}) as customers,
    cast(avg(health_score) as {{ type_double() }}) as avg_health_score,
    cast(sum(case when lifecycle_stage in {{ live_stages() }} then 1 else 0 end) as {{ dbt.type_bigint() }})
        as retained_customers,
    cast(sum(case when lifecycle_stage = 'churned' then 1 else 0 end) as {{ dbt.type_bigint() }})
        as churned_customers,
    cast(avg(case when lifecycle_stage in {{ live_stages() }} then 1e0 else 0e0 end) as {{ type_double() }})
        as retention_rate,
    cast(avg(case when lifecycle_stage = 'churned' then 1e0 else 0e0 end) as {{ type_double() }}) as churn_share
from {{ ref('mart_relationship_health') }}
group by health_band
