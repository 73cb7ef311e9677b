{# Checks on the increment (DECISIONS.md, Incremental processing). A fact's tests carry
   `config: {where: __written_this_run__}`: a daily build tests the rows it wrote (their _processed_through is
   this build's watermark; after a full refresh that is every row); with var full_checks (the weekly schedule)
   every row. Tests of incremental intermediate tables carry `where: __full_checks_only__`: whole-table checks,
   run weekly and on a full refresh (the facts' tests judge what they feed into the increment). YAML cannot call
   a project macro in `where`, so the tokens are replaced here, where dbt applies `where` to the tested relation
   (this overrides dbt's get_where_subquery for every test). #}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == '__written_this_run__' -%}
        {%- set where = written_this_run() -%}
    {%- elif where == '__full_checks_only__' -%}
        {%- set where = '1 = 1' if full_checks() else '1 = 0' -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% macro written_this_run() -%}
    {%- if full_checks() -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {#- a test may not ref a model it does not test: the state table is found in the graph -#}
    {%- set state = graph.nodes['model.' ~ project_name ~ '.int_incremental__state'] -%}
    {%- set relation = api.Relation.create(database=state.database, schema=state.schema, identifier=state.alias) -%}
    {{ return('_processed_through >= (select current_watermark from ' ~ relation ~ ')') }}
{%- endmacro %}

{# Whole-table checks and reconciliations run with var full_checks, or on a full refresh (every row rewritten). #}
{% macro full_checks() -%}
    {{ return(var('full_checks') or (flags is defined and flags.FULL_REFRESH)) }}
{%- endmacro %}
