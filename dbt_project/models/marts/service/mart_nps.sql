-- One row per month of submission and segment (all customers, each acquisition channel, each CRM segment)
-- with at least one NPS response: response counts by category and NPS = % promoters (9-10) - % detractors
-- (0-6), -100..100 (DOMAIN.md, NPS; DECISIONS.md, NPS). Responses of unknown respondents are not counted.
with responses as (
    select
        nps.response_id,
        {{ month_start('nps.submitted_date') }} as month_start,
        nps.nps_category,
        customers.acquisition_channel,
        coalesce(customers.segment, 'unknown') as segment
    from {{ ref('int_nps__resolved') }} as nps
    inner join {{ ref('int_customers__resolved') }} as customers
        on nps.customer_id = customers.customer_id
    where not customers.is_internal
),

by_segment as (
    select month_start, 'all' as segment_type, 'all' as segment, nps_category from responses
    union all
    select month_start, 'acquisition_channel', acquisition_channel, nps_category from responses
    union all
    select month_start, 'segment', segment, nps_category from responses
),

counted as (
    select
        month_start,
        segment_type,
        segment,
        count(*) as responses,
        sum(case when nps_category = 'promoter' then 1 else 0 end) as promoters,
        sum(case when nps_category = 'passive' then 1 else 0 end) as passives,
        sum(case when nps_category = 'detractor' then 1 else 0 end) as detractors
    from by_segment
    group by month_start, segment_type, segment
)

select
    cast(month_start as date) as month_start,
    cast(
        case
            when month_start = {{ month_start(as_of_date()) }} then {{ as_of_date() }}
            else {{ month_last_day('month_start') }}
        end as date
    ) as month_end,
    cast(month_start = {{ month_start(as_of_date()) }} as {{ dbt.type_boolean() }}) as is_partial_month,
    cast(segment_type as {{ dbt.type_string() }}) as segment_type,
    cast(segment as {{ dbt.type_string() }}) as segment,
    cast(responses as {{ dbt.type_bigint() }}) as responses,
    cast(promoters as {{ dbt.type_bigint() }}) as promoters,
    cast(passives as {{ dbt.type_bigint() }}) as passives,
    cast(detractors as {{ dbt.type_bigint() }}) as detractors,
    cast(100e0 * promoters / responses as {{ type_double() }}) as promoter_pct,
    cast(100e0 * detractors / responses as {{ type_double() }}) as detractor_pct,
    cast(100e0 * (promoters - detractors) / responses as {{ type_double() }}) as nps
from counted
