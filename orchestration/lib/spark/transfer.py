"""Tables between the build DuckDB and Spark, as Arrow over Spark Connect.

- raw_to_spark: the loader's validated raw tables (DuckDB schema `raw`, after the ledger and quarantine did
  their work) become Parquet tables of the same names in Spark's `raw` database: the dbt sources on Spark.
- spark_to_duckdb: Spark-built tables copied into the build DuckDB under the same schema.table, so the GX
  suites, reconciliations and the publish step read the Spark-built marts exactly as they read DuckDB's.

Arrow over the Connect channel works the same against a local server and a cluster (no shared file system
needed). Raw TIMESTAMPTZ columns arrive as Spark TIMESTAMP (an instant; sessions run in UTC). Spark-built
timestamps come back as DuckDB TIMESTAMP in UTC, the type the dbt models give them on DuckDB
(dbt.type_timestamp()); `spark.sql.timestampType=TIMESTAMP_NTZ` would say so in Spark itself, but dbt-spark's
dateadd() fails under it.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa

BATCH_ROWS = 250_000  # rows per Arrow upload: keeps each Connect message well under its size limit


def duckdb_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Tables of a DuckDB schema, bookkeeping tables (leading underscore: ledger, quarantine) left out."""
    rows = con.execute(
        """select table_name from information_schema.tables
           where table_schema = ? and table_type = 'BASE TABLE' and not starts_with(table_name, '_')
           order by table_name""",
        [schema],
    ).fetchall()
    return [name for (name,) in rows]


def duckdb_to_spark(
    con: duckdb.DuckDBPyConnection, spark, schema: str, tables: Iterable[str]
) -> dict[str, int]:
    """Replace Spark tables schema.<table> (Parquet) with DuckDB's schema.<table>; returns rows per table."""
    spark.sql(f"create database if not exists {schema}")
    written: dict[str, int] = {}
    for table in tables:
        reader = con.sql(f'select * from "{schema}"."{table}"').to_arrow_reader(BATCH_ROWS)
        name, mode, rows = f"{schema}.{table}", "overwrite", 0
        for batch in _batches(reader):
            spark.createDataFrame(pa.Table.from_batches([batch])).write.mode(mode).format(
                "parquet"
            ).saveAsTable(name)
            mode, rows = "append", rows + batch.num_rows
        written[table] = rows
    return written


def _batches(reader: pa.RecordBatchReader) -> Iterable[pa.RecordBatch]:
    """The reader's batches, or one empty batch for an empty table (so the table is still replaced)."""
    empty = True
    for batch in reader:
        empty = False
        yield batch
    if empty:
        yield pa.RecordBatch.from_pylist([], schema=reader.schema)


def _naive_utc(table: pa.Table) -> pa.Table:
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            naive = table.column(i).cast(pa.timestamp(field.type.unit))  # same instant, read as UTC
            table = table.set_column(i, pa.field(field.name, naive.type, field.nullable), naive)
    return table


def spark_to_duckdb(
    spark, con: duckdb.DuckDBPyConnection, relations: Iterable[tuple[str, str]]
) -> dict[str, int]:
    """Replace DuckDB tables schema.name with Spark's, each in its own transaction; rows per table."""
    copied: dict[str, int] = {}
    for schema, name in relations:
        arrow = _naive_utc(spark.table(f"{schema}.{name}").toArrow())
        con.execute(f'create schema if not exists "{schema}"')
        con.execute("begin")
        try:
            kind = con.execute(
                "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()
            if kind == [("VIEW",)]:  # a DuckDB build's dbt view of the same name
                con.execute(f'drop view "{schema}"."{name}"')
            con.register("spark_arrow", arrow)
            con.execute(f'create or replace table "{schema}"."{name}" as select * from spark_arrow')
            con.unregister("spark_arrow")
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        copied[f"{schema}.{name}"] = arrow.num_rows
    return copied
