{{ config(tags=['clv_scored']) }}
-- One row: the Gamma-Gamma parameters p, q, v of the CLV step's fit (clv.parameters holds one row).
select
    p as gg_p,
    q as gg_q,
    v as gg_v
from {{ source('clv', 'parameters') }}
