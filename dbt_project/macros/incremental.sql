{# Incremental contract (DECISIONS.md, Incremental processing). The previous build is read from the facts
   themselves (no DAG edge, so no cycle): `_processed_through` is the latest raw `_loaded_at` the build that
   wrote a row had seen. Returns none when any fact is missing or the build is pinned to an as_of_date var:
   then everything counts as affected. #}
{% macro previous_fact(name) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.get_relation(database=target.database, schema='marts', identifier=name)) }}
{%- endmacro %}

{% macro previous_facts() -%}
    {%- set facts = [] -%}
    {%- for name in ['fct_orders', 'fct_tickets', 'fct_customer_months'] -%}
        {%- set relation = previous_fact(name) -%}
        {%- if relation is none or var('as_of_date') -%}{{ return(none) }}{%- endif -%}
        {%- do facts.append(relation) -%}
    {%- endfor -%}
    {{ return(facts) }}
{%- endmacro %}

{# Raw rows loaded since the previous build, less the lookback (var incremental_lookback_hours); every row when
   there is no usable previous build. Staging reads only this (it does not depend on as_of_date). #}
{% macro loaded_since_watermark(state=none) -%}
    {%- set state = state or ref('int_incremental__state') -%}
    (
        (select previous_watermark is null from {{ state }})
        or _loaded_at >= (select lookback_from from {{ state }})
    )
{%- endmacro %}

{# The key column and raw table a staging model's rewrite kind dedupes again, (key, raw table); none for a kind
   below staging. Kind 'raw' takes them from the model's config (`rewrite_key`, `rewrite_raw_table`). #}
{% macro raw_rewrite_key(kind, key=none, raw_table=none) -%}
    {%- set fixed = {
        'raw_contact': ('contact_id', 'crm_contacts'),
        'raw_order': ('order_id', 'shop_orders'),
        'raw_order_line': ('line_id', 'shop_order_lines'),
    } -%}
    {{ return((key, raw_table) if kind == 'raw' else fixed.get(kind)) }}
{%- endmacro %}

{# Keys with a copy in `raw` loaded since the watermark (`state`: the int_incremental__state relation). #}
{% macro raw_keys_loaded(key, raw, state=none) -%}
    {{ key }} in (select {{ key }} from {{ raw }} where {{ loaded_since_watermark(state) }})
{%- endmacro %}

{# True when this build rewrites every row of the incremental models below staging: no usable previous build,
   or the analysis date moved back (a re-export pulled the latest event back: customers, months and orders can
   disappear). #}
{% macro incremental_rewrite_all() -%}
    (
        (select previous_watermark is null from {{ ref('int_incremental__state') }})
        or {{ as_of_date() }} < (select previous_as_of_date from {{ ref('int_incremental__state') }})
    )
{%- endmacro %}

{# First month this build rewrites for every customer: the previous as_of_date month (month_end and the stage of
   that month move with as_of_date, and a new month adds a row for everyone). #}
{% macro rewrite_from_month() -%}
    (select {{ month_start('previous_as_of_date') }} from {{ ref('int_incremental__state') }})
{%- endmacro %}

{# Customer-month rows this build rewrites: affected customers' rows, and every customer's rows from
   rewrite_from_month(). `month` is the row's month column (a month_end works as well as a month_start). #}
{% macro customer_months_to_rewrite(month='month_start') -%}
    (
        {{ incremental_rewrite_all() }}
        or customer_id in (select customer_id from {{ ref('int_incremental__affected_customers') }})
        or {{ month }} >= {{ rewrite_from_month() }}
    )
{%- endmacro %}

{# True when the model, written after the facts, missed the previous build (it failed after writing the facts,
   so the watermark moved past loads this table never saw): then every row is rewritten. The model's
   `_processed_through` is the watermark of the build that last wrote it. #}
{% macro missed_a_build() -%}
    not coalesce(
        (select max(_processed_through) from {{ this }})
            >= (select previous_watermark from {{ ref('int_incremental__state') }}),
        false
    )
{%- endmacro %}

{# The rows an incremental model rewrites, by the kind named in its `rewrite` config. The strategy below deletes
   exactly these rows from the table and the model selects exactly these rows again, so a build that rewrites a
   key also removes it when it has no row any more (a guest whose orders moved to a contact). `key` names the
   key column where the model's input calls it differently; kind 'raw' (a staging model's dedupe) takes the key
   and the raw table from the model's config `rewrite_key` and `rewrite_raw_table`. #}
{% macro rewritten_rows(kind, key=none, raw_table=none) -%}
    {%- set raw_key = raw_rewrite_key(kind, key, raw_table) -%}
    {%- if raw_key -%}
        (
            {{ raw_keys_loaded(raw_key[0], source('raw', raw_key[1])) }}
            {%- if kind == 'raw_order' %}
            or order_id in (
                select orders.order_id
                from {{ this }} as orders
                inner join {{ ref('int_incremental__touched_rates') }} as rates
                    on {{ fx_touched('orders.currency', 'orders.order_date', 'rates') }}
            )
            {%- endif %}
        )
    {%- elif kind == 'contact' -%}
        ({{ incremental_rewrite_all() }}
         or {{ key or 'contact_id' }} in (select contact_id from {{ ref('int_incremental__touched_contacts') }}))
    {%- elif kind == 'email' -%}
        ({{ incremental_rewrite_all() }}
         or {{ key or 'email_normalized' }} in (select email_normalized from {{ ref('int_incremental__touched_contacts') }}))
    {%- elif kind == 'order' -%}
        ({{ incremental_rewrite_all() }}
         or {{ key or 'order_id' }} in (select order_id from {{ ref('int_incremental__touched_orders') }}))
    {%- elif kind == 'customer' -%}
        ({{ incremental_rewrite_all() }}
         or {{ key or 'customer_id' }} in (select customer_id from {{ ref('int_incremental__affected_customers') }}))
    {%- elif kind == 'customer_month' -%}
        {{ customer_months_to_rewrite('month_start') }}
    {%- elif kind == 'customer_month_end' -%}
        {{ customer_months_to_rewrite('month_end') }}
    {%- elif kind == 'mix_customer_month' -%}
        (
            {{ customer_months_to_rewrite('month_start') }}
            or customer_id in (select customer_id from {{ ref('int_incremental__mix_customers') }})
            or {{ missed_a_build() }}
        )
    {%- elif kind == 'ticket' -%}
        ({{ incremental_rewrite_all() }}
         or ticket_id in (select ticket_id from {{ ref('int_incremental__affected_tickets') }}))
    {%- elif kind == 'backtest_customer' -%}
        ({{ incremental_rewrite_all() }}
         or customer_id in (select customer_id from {{ ref('int_incremental__affected_customers') }})
         or {{ backtest_cutoff_is_new() }}
         or {{ backtest_cutoff_key() }} not in (
             select {{ backtest_cutoff_key() }} from {{ ref('int_clv__backtest_cutoffs') }}
         ))
    {%- else -%}
        {{ exceptions.raise_compiler_error('rewritten_rows: unknown kind ' ~ kind) }}
    {%- endif -%}
{%- endmacro %}

{# The CLV backtest's cutoff as one value (a cutoff and its holdout's end), to compare cutoff sets. #}
{% macro backtest_cutoff_key(cutoff_date='cutoff_date', holdout_end_date='holdout_end_date') -%}
    cast({{ cutoff_date }} as {{ dbt.type_string() }}) || '/' || cast({{ holdout_end_date }} as {{ dbt.type_string() }})
{%- endmacro %}

{# True for a cutoff of int_clv__backtest_cutoffs that the backtest split ({{ this }}) holds no row of yet: every
   customer's row of it is computed (a cutoff once current keeps its rows until it is dropped). #}
{% macro backtest_cutoff_is_new() -%}
    {{ backtest_cutoff_key() }} not in (
        select {{ backtest_cutoff_key() }} from (select distinct cutoff_date, holdout_end_date from {{ this }}) as held
    )
{%- endmacro %}

{# An exchange rate loaded since the watermark changes the conversion of `currency_column` amounts dated on or
   after its touched_rates.from_date (every currency when the reporting currency's rate moved). #}
{% macro fx_touched(currency_column, date_column, rates) -%}
    ({{ currency_column }} = {{ rates }}.currency or {{ rates }}.currency = '{{ var("reporting_currency") }}')
    and {{ date_column }} >= {{ rates }}.from_date
{%- endmacro %}

{# Incremental strategy `rewrite`: dbt's delete+insert keyed by the affected set instead of by the new rows' keys
   (delete+insert deletes only keys that have a new row, so a key that disappears would stay). The model's
   config `rewrite` names the kind of rows (macro rewritten_rows). Delete and insert run after the new rows are
   computed, so a model may read its own previous rows ({{ this }}). #}
{% macro get_incremental_rewrite_sql(arg_dict) -%}
    {{ return(adapter.dispatch('rewrite_sql', 'retention_warehouse')(arg_dict)) }}
{%- endmacro %}

{% macro default__rewrite_sql(arg_dict) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set rows = rewritten_rows(
        config.require('rewrite'), key=config.get('rewrite_key'), raw_table=config.get('rewrite_raw_table')
    ) -%}
    delete from {{ arg_dict['target_relation'] }} where {{ rows }};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{# The materialisation of every model with strategy `rewrite`: incremental on DuckDB; on Spark a table rebuilt
   whole each run, since plain Parquet tables have no DELETE (docs/spark.md). As a table, is_incremental() is
   false, so the model computes every row. #}
{% macro rewrite_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}
