"""What the Dagster steps do in addition when RW_ENGINE=spark (orchestration/lib/spark/engine.py).

Where things run: the loader (validation, ledger, quarantine) stays in the build DuckDB; its raw tables go to
Spark before dbt (`raw_to_spark`); dbt builds every model and runs every test on Spark; each dbt step then
copies the models it built back into the build DuckDB (`models_to_duckdb`), so the CLV fit, the GX suites,
the reconciliations and the publish step read the Spark-built tables unchanged; the CLV step's outputs go
to Spark (`clv_to_spark`) before the CLV-scored marts are built there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import duckdb

from orchestration.lib.spark.transfer import duckdb_tables, duckdb_to_spark, spark_to_duckdb

# Written by the CLV step in DuckDB (one transaction), read by the CLV-scored marts on Spark.
CLV_TABLES = ("parameters", "rfm_scores", "fit_history")
SNAPSHOT_SKIPPED = (
    "{name} is not built on Spark: a dbt snapshot needs a table format with MERGE (Delta, Iceberg or Hudi; "
    "dbt var spark_file_format), and plain Parquet tables have none. dim_contacts_history does not read it."
)


def raw_to_spark(spark, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The validated raw tables (not the ledger or quarantine) as Spark's `raw` sources; rows per table."""
    return duckdb_to_spark(con, spark, "raw", duckdb_tables(con, "raw"))


def clv_to_spark(spark, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """clv.parameters, rfm_scores and fit_history, as the CLV step left them in DuckDB, to Spark's `clv`."""
    present = set(duckdb_tables(con, "clv"))
    return duckdb_to_spark(con, spark, "clv", [t for t in CLV_TABLES if t in present])


def built_relations(
    nodes: Mapping[str, Mapping[str, Any]], unique_ids: Iterable[str]
) -> list[tuple[str, str]]:
    """(schema, name) of the models and snapshots among `unique_ids` that exist as relations."""
    found = []
    for uid in unique_ids:
        node = nodes.get(uid, {})
        if (
            node.get("resource_type") in ("model", "snapshot")
            and node["config"]["materialized"] != "ephemeral"
        ):
            found.append((node["schema"], node.get("alias") or node["name"]))
    return sorted(set(found))


def models_to_duckdb(
    spark, con: duckdb.DuckDBPyConnection, relations: list[tuple[str, str]]
) -> dict[str, int]:
    """Copy the Spark-built relations into the build DuckDB (views arrive as tables); rows per relation."""
    return spark_to_duckdb(spark, con, relations)
