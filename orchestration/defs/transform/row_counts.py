"""Row counts of dbt models as materialization metadata (`dagster/row_count`, shown in the asset graph).

dagster-dbt's `fetch_row_counts()` queries the warehouse while dbt is still running; DuckDB lets one process
hold a database file for writing, so those queries would fail on the lock dbt holds. A step's events are
therefore held until dbt exits, and every table it materialized is counted in one query. Views are not
counted: counting one would run it.
"""

import json
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from dagster import Output

from orchestration.resources import DuckDBWarehouse

COUNTED = ("table", "incremental", "snapshot")


@cache
def _nodes(manifest_path: Path, mtime_ns: int) -> dict[str, dict[str, Any]]:
    return json.loads(manifest_path.read_text())["nodes"]


def _relation(node: dict[str, Any]) -> str | None:
    if node.get("config", {}).get("materialized") not in COUNTED:
        return None
    return f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'


def with_row_counts(events: Iterable[Any], manifest_path: Path, warehouse: DuckDBWarehouse) -> Iterator[Any]:
    held = list(events)
    nodes = _nodes(manifest_path, manifest_path.stat().st_mtime_ns)
    relations: dict[str, str] = {}
    for event in held:
        if isinstance(event, Output) and "unique_id" in event.metadata:
            unique_id = event.metadata["unique_id"].value
            if (relation := _relation(nodes.get(unique_id, {}))) is not None:
                relations[unique_id] = relation
    counts: dict[str, int] = {}
    if relations:
        query = " union all ".join(f"select '{uid}', count(*) from {rel}" for uid, rel in relations.items())
        with warehouse.connect(read_only=True) as con:
            counts = dict(con.execute(query).fetchall())
    for event in held:
        if isinstance(event, Output) and event.metadata.get("unique_id") is not None:
            count = counts.get(event.metadata["unique_id"].value)
            if count is not None:
                event = event.with_metadata({**event.metadata, "dagster/row_count": count})
        yield event
