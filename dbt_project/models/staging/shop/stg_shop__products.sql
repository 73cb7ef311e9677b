with ranked as (
    {{ latest_copy(source('raw', 'shop_products'), ['product_id'], ['_file desc', '_line desc']) }}
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
