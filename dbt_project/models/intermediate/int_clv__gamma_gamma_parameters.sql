-- One row: the Gamma-Gamma parameters p, q, v of the CLV step's fit, read from clv.parameters.
select
    max(case when parameter = 'p' then value end) as gg_p,
    max(case when parameter = 'q' then value end) as gg_q,
    max(case when parameter = 'v' then value end) as gg_v
from {{ source('clv', 'parameters') }}
where model = 'gamma_gamma'
