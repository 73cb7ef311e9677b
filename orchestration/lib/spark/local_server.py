"""A local Spark Connect server for RW_ENGINE=spark when no cluster endpoint (SPARK_REMOTE) is given.

The pyspark wheel bundles Spark with its Connect server, so the server is `spark-submit` of
SparkConnectServer from that wheel (Java 17 on PATH or JAVA_HOME). It binds to loopback only, keeps its
Hive metastore (Derby, one process: this server) and table files under one directory so tables survive a
restart (the incremental facts and the CLV fit history continue across runs), and is stopped by the process
that started it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_SECONDS = 180  # ~6 s on an idle machine, several times that on a loaded one


@dataclass
class LocalSparkServer:
    home: Path  # metastore, table files and the server log
    port: int = 15002
    driver_memory: str = "2g"  # the machine is shared: a modest driver; raise with RW_SPARK_DRIVER_MEMORY
    process: subprocess.Popen | None = None

    @property
    def remote(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    def command(self) -> list[str]:
        import pyspark

        spark_home = Path(pyspark.__file__).parent
        conf = {
            "spark.master": "local[*]",
            "spark.sql.catalogImplementation": "hive",
            "spark.sql.warehouse.dir": str(self.home / "warehouse"),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={self.home}",
            "spark.sql.session.timeZone": "UTC",
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.ui.enabled": "false",
            # Few cores, small data per task: the default 200 shuffle partitions only add scheduling.
            "spark.sql.shuffle.partitions": "4",
        }
        args = [str(spark_home / "bin" / "spark-submit"), "--driver-memory", self.driver_memory]
        for key, value in conf.items():
            args += ["--conf", f"{key}={value}"]
        return [*args, "--class", "org.apache.spark.sql.connect.service.SparkConnectServer", "spark-internal"]

    def start(self) -> str:
        """Start the server and wait until it accepts connections; returns its SPARK_REMOTE url."""
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise RuntimeError(
                "RW_ENGINE=spark without SPARK_REMOTE needs Java 17 (apt-get install openjdk-17-jre)"
            )
        if _port_open(self.port):
            raise RuntimeError(
                f"port {self.port} is taken: set SPARK_REMOTE to that server, or RW_SPARK_PORT"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
        env.pop("SPARK_REMOTE", None)  # spark-submit must start a server, not connect to one
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.home,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends the JVM and its launcher
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _port_open(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Spark Connect server exited ({self.process.returncode}); see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"Spark Connect server did not start in {START_TIMEOUT_SECONDS} s; see {self.log_path}"
                )
            time.sleep(0.5)
        return self.remote

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0
