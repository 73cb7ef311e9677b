"""Publish the marts for BI (write-audit-publish) as the last asset of the graph.

The asset depends on every dbt mart, so it runs only after all of them materialized and every blocking
check on them passed (a failed dbt test or blocking GX check stops the run before it gets here).
"""

import json
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.lib import nothing_new
from orchestration.lib.freshness_policy import FRESHNESS_POLICY
from orchestration.lib.serving.publish import SERVING_DB, publish_marts
from orchestration.resources import DuckDBWarehouse
from orchestration.settings import DBT_PROJECT_DIR, Settings


def mart_keys(manifest_path: Path = DBT_PROJECT_DIR / "target" / "manifest.json") -> list[AssetKey]:
    """Asset keys of every dbt model under models/marts (dbt model keys are the bare model name)."""
    nodes = json.loads(Path(manifest_path).read_text())["nodes"].values()
    return sorted(
        AssetKey([n["name"]])
        for n in nodes
        if n["resource_type"] == "model" and len(n["fqn"]) > 2 and n["fqn"][1] == "marts"
    )


@asset(
    key=AssetKey(["serving", "published_marts"]),
    group_name="serving",
    deps=mart_keys(),
    kinds={"duckdb", "parquet"},
    owners=["team:data-platform"],
    freshness_policy=FRESHNESS_POLICY,
    description="Marts copied (PII masked) to a new read-only serving build and swapped in atomically; "
    "the visual report and dbt docs regenerated; unchanged marts shared with the previous build. "
    "BI reads <serving_dir>/current only.",
)
def published_marts(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, settings: Settings
) -> MaterializeResult:
    done = publish_marts(
        Path(warehouse.path),
        Path(settings.serving_dir),
        Path(settings.reports_dir),
        keep=settings.serving_keep_builds,
        salt=settings.pii_salt,
        dbt_docs=settings.publish_dbt_docs,
        logger=context.log,
        # Read from the instance: the dbt step tagged the run after this step's run object was loaded.
        inputs=context.instance.get_run_by_id(context.run_id).tags.get(nothing_new.INPUTS_TAG),
    )
    current = Path(settings.serving_dir) / "current"
    metadata = {
        "build_id": done.build_id,
        "as_of_date": done.manifest["as_of_date"] or "unknown",
        "serving_duckdb": MetadataValue.path(str(current / SERVING_DB)),
        "build_dir": MetadataValue.path(str(done.build_dir)),
        "report": MetadataValue.url(done.report_path.as_uri()),
        "report_path": MetadataValue.path(str(done.report_path)),
        "rows_per_mart": MetadataValue.json({m: e["rows"] for m, e in done.manifest["marts"].items()}),
        "pruned_builds": MetadataValue.json(done.pruned),
        "marts_shared_with_previous_build": MetadataValue.int(
            sum(1 for e in done.manifest["marts"].values() if e.get("shared_with"))
        ),
    }
    if done.dbt_docs_path:
        metadata["dbt_docs"] = MetadataValue.url(done.dbt_docs_path.as_uri())
    return MaterializeResult(metadata=metadata)


serving_assets = [published_marts]
