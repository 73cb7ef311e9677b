"""The build database as a configured Dagster resource (never a global): one path, one writer at a time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, get_dagster_logger

# DuckDB lets one process hold the file for writing; another process (a second run, a stray shell) gets
# an IOException naming the lock. That is transient, so connecting waits with backoff before giving up.
LOCK_RETRY_SECONDS = (1, 2, 4, 8, 16)


class DuckDBWarehouse(ConfigurableResource):
    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = connect_with_retry(self.path, read_only=read_only)
        try:
            yield con
        finally:
            con.close()


def connect_with_retry(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    for attempt, wait in enumerate((*LOCK_RETRY_SECONDS, None)):
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            # After connecting, not in `config=`: only then can DuckDB autoload ICU, which TimeZone needs.
            con.execute("set TimeZone = 'UTC'")
            return con
        except duckdb.IOException as exc:
            if wait is None or "lock" not in str(exc).lower():
                raise
            get_dagster_logger().warning(
                f"{path} is locked by another process; retry {attempt + 1} in {wait} s"
            )
            time.sleep(wait)
    raise AssertionError("unreachable")
