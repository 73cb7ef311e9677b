"""The Spark engine as a Dagster resource: a Spark Connect endpoint for dbt and the Python steps.

With `remote` (SPARK_REMOTE, e.g. a cluster's `sc://host:15002`) every step connects there. Without it
the resource starts a local Spark Connect server on first use (orchestration/lib/spark/local_server.py) and
stops it when the run's execution ends, so one run pays the start-up once and leaves nothing running.
"""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext, get_dagster_logger
from pydantic import PrivateAttr

from orchestration.lib.spark.local_server import LocalSparkServer


class SparkEngine(ConfigurableResource):
    remote: str | None = None  # SPARK_REMOTE; None = a local server under `home`
    home: str  # local server: metastore, table files, log
    port: int = 15002
    driver_memory: str = "2g"

    _server: LocalSparkServer | None = PrivateAttr(default=None)
    _url: str | None = PrivateAttr(default=None)

    def url(self) -> str:
        """The Spark Connect url, starting the local server on first use when no remote is set."""
        if self._url is None:
            if self.remote:
                self._url = self.remote
            else:
                server = LocalSparkServer(Path(self.home), self.port, self.driver_memory)
                get_dagster_logger().info(f"starting a local Spark Connect server (log: {server.log_path})")
                self._url = server.start()
                self._server = server
        return self._url

    def session(self):
        """A Spark Connect session in UTC, as dbt's (profiles.yml server_side_parameters)."""
        from pyspark.sql import SparkSession

        session = SparkSession.builder.remote(self.url()).getOrCreate()
        for key, value in SESSION_CONF.items():
            session.conf.set(key, value)
        return session

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._server is not None:
            get_dagster_logger().info("stopping the local Spark Connect server")
            self._server.stop()
            self._server, self._url = None, None


# The same settings dbt's spark target passes (profiles.yml server_side_parameters).
SESSION_CONF = {"spark.sql.session.timeZone": "UTC"}
