"""Every `RW_*` setting in one object, read once from the environment with defaults under the project.

`Settings` is a Dagster resource (`settings`): assets and sensors take it as a parameter instead of reading
the environment. The Definitions get it from `Settings.from_env()` (orchestration/definitions.py); the CLI
(`python -m orchestration build --landing DIR`) and tests build one with their own values. dbt reads
RW_DUCKDB_PATH, RW_DUCKDB_MEMORY_LIMIT and RW_INCREMENTAL_LOOKBACK_HOURS through `env_var()` in
profiles.yml and dbt_project.yml; the dbt step sets them from this object (`dbt_env`).

Paths are strings (Dagster config has no path type); `Path(settings.x)` where a path is needed.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import field_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LANDING_DIR = PROJECT_ROOT / "seeds" / "sample" / "landing"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


class Settings(ConfigurableResource):
    # Paths. RW_DATA_DIR (default data/) is only the parent of the defaults of the next three.
    landing_dir: str = str(SAMPLE_LANDING_DIR)  # RW_LANDING_DIR: where raw exports arrive (your data here)
    duckdb_path: str = str(DEFAULT_DATA_DIR / "warehouse.duckdb")  # RW_DUCKDB_PATH: build db, never BI's
    serving_dir: str = str(DEFAULT_DATA_DIR / "serving")  # RW_SERVING_DIR: published read-only marts
    reports_dir: str = str(DEFAULT_DATA_DIR / "reports")  # RW_REPORTS_DIR: data docs, report, dbt docs
    # Engine (docs/spark.md): duckdb builds in the embedded file; spark runs dbt on Spark (Spark Connect).
    engine: str = "duckdb"  # RW_ENGINE: duckdb | spark
    spark_remote: str = ""  # SPARK_REMOTE: a cluster's Spark Connect url; empty = a local server per run
    spark_port: int = 15002  # RW_SPARK_PORT: the local server's port (loopback only)
    spark_driver_memory: str = "2g"  # RW_SPARK_DRIVER_MEMORY: the local server's JVM heap
    # dbt (profiles.yml, dbt_project.yml).
    duckdb_memory_limit: str = "4GB"  # RW_DUCKDB_MEMORY_LIMIT: DuckDB buffer pool cap (bench/RESULTS.md)
    incremental_lookback_hours: int = 24  # RW_INCREMENTAL_LOOKBACK_HOURS (DECISIONS.md, Incremental)
    # Automation and monitoring.
    automation: str = "on"  # RW_AUTOMATION: on = schedule and sensors start running; off = start stopped
    fresh_within_hours: float = 26.0  # RW_FRESH_WITHIN_HOURS: a day plus slack for a slow run
    alert_log: str = ""  # RW_ALERT_LOG: default <reports_dir>/../alerts.log
    alert_webhook_url: str = ""  # RW_ALERT_WEBHOOK_URL: optional; alerts are POSTed there
    alert_format: str = ""  # RW_ALERT_FORMAT: slack, teams or json; empty = from the webhook's host
    dagster_url: str = "http://127.0.0.1:3000"  # RW_DAGSTER_URL: base of the run links in alerts
    # Serving.
    pii_salt: str = ""  # RW_PII_SALT: salt of published hashes; empty = the documented sample salt
    serving_keep_builds: int = 5  # RW_SERVING_KEEP_BUILDS: serving builds kept for rollback
    publish_dbt_docs: bool = True  # regenerate dbt docs on publish (tests turn it off: it starts dbt)

    @field_validator("landing_dir", "duckdb_path", "serving_dir", "reports_dir", "alert_log", mode="before")
    @classmethod
    def _path_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, os.PathLike) else value

    @field_validator("automation")
    @classmethod
    def _on_or_off(cls, value: str) -> str:
        if value not in ("on", "off"):
            raise ValueError(f"RW_AUTOMATION must be on or off, got {value!r}")
        return value

    @field_validator("alert_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in ("", "slack", "teams", "json"):
            raise ValueError(f"RW_ALERT_FORMAT must be slack, teams or json, got {value!r}")
        return value

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if value not in ("duckdb", "spark"):
            raise ValueError(f"RW_ENGINE must be duckdb or spark, got {value!r}")
        return value

    @field_validator("serving_keep_builds")
    @classmethod
    def _keep_at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"RW_SERVING_KEEP_BUILDS must be at least 1, got {value}")
        return value

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from `RW_*` variables (default: the process environment); `overrides` win."""
        env = os.environ if environ is None else environ
        data = Path(env.get("RW_DATA_DIR", DEFAULT_DATA_DIR))
        values: dict[str, object] = {
            "landing_dir": env.get("RW_LANDING_DIR", str(SAMPLE_LANDING_DIR)),
            "duckdb_path": env.get("RW_DUCKDB_PATH", str(data / "warehouse.duckdb")),
            "serving_dir": env.get("RW_SERVING_DIR", str(data / "serving")),
            "reports_dir": env.get("RW_REPORTS_DIR", str(data / "reports")),
        }
        optional = {
            "duckdb_memory_limit": "RW_DUCKDB_MEMORY_LIMIT",
            "incremental_lookback_hours": "RW_INCREMENTAL_LOOKBACK_HOURS",
            "automation": "RW_AUTOMATION",
            "fresh_within_hours": "RW_FRESH_WITHIN_HOURS",
            "alert_log": "RW_ALERT_LOG",
            "alert_webhook_url": "RW_ALERT_WEBHOOK_URL",
            "alert_format": "RW_ALERT_FORMAT",
            "dagster_url": "RW_DAGSTER_URL",
            "pii_salt": "RW_PII_SALT",
            "serving_keep_builds": "RW_SERVING_KEEP_BUILDS",
            "engine": "RW_ENGINE",
            "spark_remote": "SPARK_REMOTE",
            "spark_port": "RW_SPARK_PORT",
            "spark_driver_memory": "RW_SPARK_DRIVER_MEMORY",
        }
        values.update({field: env[name] for field, name in optional.items() if env.get(name)})
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def alert_log_path(self) -> Path:
        return Path(self.alert_log) if self.alert_log else Path(self.reports_dir).parent / "alerts.log"

    def spark_home(self) -> Path:
        """The local Spark server's metastore, table files and log: beside the build database."""
        return Path(self.duckdb_path).resolve().parent / "spark"

    def dbt_env(self) -> dict[str, str]:
        """The variables profiles.yml and dbt_project.yml read with env_var(), from this object."""
        return {
            "RW_DUCKDB_PATH": str(Path(self.duckdb_path).resolve()),
            "RW_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "RW_INCREMENTAL_LOOKBACK_HOURS": str(self.incremental_lookback_hours),
        }


@cache
def settings_at_load() -> Settings:
    """The environment's settings, read once per process, for what must be known when definitions load:
    the Definitions' resources, the freshness policies' window and whether schedules and sensors start
    running (default statuses are fixed when the definitions load)."""
    return Settings.from_env()
