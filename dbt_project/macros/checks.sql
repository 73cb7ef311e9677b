{# Checks on the increment (DECISIONS.md, Incremental processing). A fact's tests carry
   `config: {where: __written_this_run__}`: a daily build tests the rows it wrote (their _processed_through is
   this build's watermark; after a full refresh that is every row); with var full_checks (the weekly schedule)
   every row. Tests of incremental staging tables carry `where: __rewritten_this_run__`: the rows of the keys
   this build deduped again (a duplicate can only involve such a key: the others' rows were unique and were not
   touched). Tests of incremental intermediate tables carry `where: __full_checks_only__`: whole-table checks,
   run weekly and on a full refresh (the facts' tests judge what they feed into the increment). YAML cannot call
   a project macro in `where`, so the tokens are replaced here, where dbt applies `where` to the tested relation
   (this overrides dbt's get_where_subquery for every test). #}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == '__written_this_run__' -%}
        {%- set where = written_this_run() -%}
    {%- elif where == '__rewritten_this_run__' -%}
        {%- set where = rewritten_this_run() -%}
    {%- elif where == '__full_checks_only__' -%}
        {%- set where = '1 = 1' if full_checks() else '1 = 0' -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' as tested_rows where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% macro written_this_run() -%}
    {%- if full_checks() -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {#- a test may not ref a model it does not test: the state table is found in the graph -#}
    {%- set relation = graph_relation(graph.nodes['model.' ~ project_name ~ '.int_incremental__state']) -%}
    {{ return('_processed_through >= (select current_watermark from ' ~ relation ~ ')') }}
{%- endmacro %}

{# The rows of the keys a staging model's rewrite (macro rewritten_rows, kinds 'raw', 'raw_order',
   'raw_order_line', 'raw_contact') selected in this build. A test may not ref what it does not test, so the
   relations come from the graph; the keys and the predicate are rewritten_rows' own (raw_rewrite_key,
   raw_keys_loaded). #}
{% macro rewritten_this_run() -%}
    {%- if full_checks() or not execute -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- set kind = tested.config.get('rewrite') if tested and tested.config.materialized == 'incremental' else none -%}
    {%- if kind is none -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- set key, raw_table = tested.config.get('rewrite_key'), tested.config.get('rewrite_raw_table') -%}
    {%- set raw_key = raw_rewrite_key(kind, key, raw_table) -%}
    {%- if raw_key is none -%}
        {%- set reason = tested.name ~ ' has rewrite kind ' ~ kind -%}
        {{ exceptions.raise_compiler_error('__rewritten_this_run__ tests a staging model; ' ~ reason) }}
    {%- endif -%}
    {%- set state = graph_relation(graph.nodes['model.' ~ project_name ~ '.int_incremental__state']) -%}
    {%- set raw = graph_relation(graph.sources['source.' ~ project_name ~ '.raw.' ~ raw_key[1]]) -%}
    {%- set predicate -%}
        {{ raw_keys_loaded(raw_key[0], raw, state) }}
        {%- if kind == 'raw_order' %}
        or exists (
            select 1 from {{ graph_relation(graph.nodes['model.' ~ project_name ~ '.int_incremental__touched_rates']) }} as rates
            where {{ fx_touched('tested_rows.currency', 'tested_rows.order_date', 'rates') }}
        )
        {%- endif -%}
    {%- endset -%}
    {{ return('(' ~ predicate ~ ')') }}
{%- endmacro %}

{% macro graph_relation(node) -%}
    {%- set identifier = node.alias or node.identifier or node.name -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=identifier)) }}
{%- endmacro %}

{# Whole-table checks and reconciliations run with var full_checks, or on a full refresh (every row rewritten). #}
{% macro full_checks() -%}
    {{ return(var('full_checks') or (flags is defined and flags.FULL_REFRESH)) }}
{%- endmacro %}
