with ranked as (
    select
        *,
        row_number() over (partition by product_id order by _file desc, _line desc) as copy_rank
    from {{ source('raw', 'shop_products') }}
)

select
    product_id,
    sku,
    name as product_name,
    category,
    list_price_usd,
    _file as source_file,
    _line as source_line
from ranked
where copy_rank = 1
