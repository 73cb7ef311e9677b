"""dbt models as Dagster assets, split in two around the CLV fit.

The CLV fit (orchestration/defs/clv/assets.py) is Python that reads an intermediate dbt model and writes
tables the value/equity marts read, so the dbt graph is cut at `tag:clv_scored`: everything upstream builds in
`dbt_before_clv`, the CLV-scored marts and their descendants in `dbt_after_clv`.

No `from __future__ import annotations` here: Dagster reads the run-config class from the real annotation.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetSpec, Config
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration.defs.transform.row_counts import with_row_counts
from orchestration.lib import dbt_target_dirs, nothing_new
from orchestration.lib.freshness_policy import FRESHNESS_POLICY
from orchestration.lib.spark.engine import SparkEngine
from orchestration.lib.spark.steps import (
    SNAPSHOT_SKIPPED,
    built_relations,
    models_to_duckdb,
    raw_to_spark,
)
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import DBT_PROJECT_DIR, Settings

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# dbt folder -> Dagster group: the graph reads raw -> staging -> marts -> serving.
_GROUP_BY_FOLDER = {"staging": "staging", "intermediate": "marts", "marts": "marts"}
AFTER_CLV = "tag:clv_scored+"


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Models keep their bare name as key; sources keep dagster-dbt's default key, <source>/<table>, which
    for the `raw` source is the raw load asset's key (raw/<table>)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "snapshot", "seed"):
            return AssetKey([dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "snapshot":
            return "staging"
        fqn = dbt_resource_props.get("fqn", [])
        return _GROUP_BY_FOLDER.get(fqn[1] if len(fqn) > 2 else "", "marts")

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:analytics-engineering"]

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> AssetSpec:
        """Marts (what BI reads) carry the freshness policy; staging and intermediate are internal."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        fqn = manifest["nodes"].get(unique_id, {}).get("fqn", [])
        return spec.replace_attributes(freshness_policy=FRESHNESS_POLICY) if fqn[1:2] == ["marts"] else spec


class DbtBuildConfig(Config):
    """Run-time dbt vars; as_of_date None means the latest event in the data (DOMAIN.md)."""

    as_of_date: str | None = None
    # Rebuild the incremental facts from all raw rows (DECISIONS.md, Incremental processing).
    full_refresh: bool = False


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set `values` in os.environ while dbt's subprocess starts (it copies the environment), then restore."""
    previous = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: DuckDBWarehouse,
    settings: Settings,
    spark: SparkEngine,
    config: DbtBuildConfig,
    raw_first: bool = False,
):
    args = ["build"]
    dbt_vars = {"as_of_date": config.as_of_date} if config.as_of_date else {}
    if nothing_new.full_checks_requested(context.run.tags):
        dbt_vars["full_checks"] = True  # dbt tests judge every row, not only the rows this build wrote
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    if config.full_refresh:
        args.append("--full-refresh")
    if _code_already_tested(context, settings):
        args += ["--exclude-resource-type", "unit_test"]
    # profiles.yml and dbt_project.yml read env_var(): dbt sees this run's settings and its warehouse.
    env = {**settings.dbt_env(), "RW_DUCKDB_PATH": str(warehouse.path)}
    on_spark = settings.engine == "spark"
    if on_spark:
        session = spark.session()
        if raw_first:
            with warehouse.connect(read_only=True) as con:
                rows = raw_to_spark(session, con)
            context.log.info(f"raw tables written to Spark: {rows}")
        args += ["--target", "spark"]
        env["SPARK_REMOTE"] = spark.url()
        for key in context.selected_asset_keys:
            if key.path[-1].startswith("snp_"):
                context.log.warning(SNAPSHOT_SKIPPED.format(name=key.path[-1]))
    with _environment(env):
        invocation = dbt.cli(args, context=context)
    events = invocation.stream()
    if on_spark:
        # The models this step built on Spark, copied to the build DuckDB before their events (and the
        # checks and row counts that read them) are emitted.
        events = list(events)
        nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"]
        ids = [e.metadata["unique_id"].value for e in events if "unique_id" in getattr(e, "metadata", {})]
        with warehouse.connect() as con:
            copied = models_to_duckdb(session, con, built_relations(nodes, ids))
        context.log.info(f"Spark-built models copied to the build DuckDB: {copied}")
    yield from with_row_counts(events, dbt_project.manifest_path, warehouse)
    _keep_partial_parse(Path(invocation.target_path))
    dbt_target_dirs.prune(DBT_PROJECT_DIR / "target", ("dbt_before_clv", "dbt_after_clv"))


def _code_already_tested(context: AssetExecutionContext, settings: Settings) -> bool:
    """True when the current serving build was made from this very dbt code, so dbt's unit tests (which
    judge the SQL on fixed fixtures, not the data) passed on it: a daily run with new files only skips them.
    They run on any code change, on the first build, and on full checks (weekly, full refresh)."""
    if nothing_new.full_checks_requested(context.run.tags):
        return False
    # Read from the instance: the tag was added after this run's object was loaded (_anything_new).
    inputs = context.instance.get_run_by_id(context.run_id).tags.get(nothing_new.INPUTS_TAG)
    code = nothing_new.code_of(inputs)
    return code is not None and code == nothing_new.code_of(
        nothing_new.served_fingerprint(Path(settings.serving_dir))
    )


def _keep_partial_parse(invocation_target: Path) -> None:
    """Make this invocation's parse the one the next dbt step starts from.

    dagster-dbt runs each dbt command in its own target directory, seeded with
    dbt_project/target/partial_parse.msgpack. dbt discards that file and parses the whole project again
    whenever the profile differs from the one it was parsed with, and the profile holds the warehouse path
    (RW_DUCKDB_PATH), which `dbt parse` at install time does not know: every step of every run re-parsed
    (20-50 s each in bench/RESULTS.md). After a successful step its parse (made with this warehouse's
    profile) replaces the seed, so the next step and the next run on the same warehouse parse only what
    changed. dbt still checks project, profile and vars itself, so a stale file costs a parse, never a wrong
    result.
    """
    parsed = invocation_target / "partial_parse.msgpack"
    if not parsed.is_file():
        return
    seed_dir = DBT_PROJECT_DIR / "target"
    seed_dir.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=seed_dir, prefix=".partial_parse.")
    os.close(handle)
    shutil.copyfile(parsed, tmp)
    os.replace(tmp, seed_dir / "partial_parse.msgpack")  # atomic: a concurrent reader sees old or new


translator = WarehouseDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude=AFTER_CLV,
    name="dbt_before_clv",
)
def dbt_before_clv(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: DuckDBWarehouse,
    settings: Settings,
    spark: SparkEngine,
    config: DbtBuildConfig,
):
    if not _anything_new(context, warehouse, settings, config):
        return  # no output: every step downstream (CLV, marts, checks, publish) is skipped
    yield from _build(context, dbt, warehouse, settings, spark, config, raw_first=True)


def _anything_new(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, settings: Settings, config: DbtBuildConfig
) -> bool:
    """False when the current serving build was made from exactly this warehouse's files and this dbt code
    (lib/nothing_new.py): the run is then logged and tagged "nothing new". Otherwise the inputs' fingerprint
    is tagged on the run, for the publish step to record."""
    with warehouse.connect(read_only=True) as con:
        inputs = nothing_new.fingerprint(con, dbt_project.manifest_path)
    full_checks = nothing_new.full_checks_requested(context.run.tags)
    forced = config.full_refresh or config.as_of_date or full_checks
    if not forced and inputs == nothing_new.served_fingerprint(Path(settings.serving_dir)):
        context.log.info(
            "Nothing new: no landing file loaded and no model changed since the current serving build; "
            "dbt, CLV, checks and publish are skipped."
        )
        context.instance.add_run_tags(context.run_id, {nothing_new.RUN_TAG: "true"})
        return False
    context.instance.add_run_tags(context.run_id, {nothing_new.INPUTS_TAG: inputs})
    return True


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=AFTER_CLV,
    name="dbt_after_clv",
)
def dbt_after_clv(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: DuckDBWarehouse,
    settings: Settings,
    spark: SparkEngine,
    config: DbtBuildConfig,
):
    yield from _build(context, dbt, warehouse, settings, spark, config)
