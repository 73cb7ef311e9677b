"""Every path the warehouse uses, read once from environment variables with defaults under the project."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LANDING_DIR = PROJECT_ROOT / "seeds" / "sample" / "landing"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


@dataclass(frozen=True)
class Settings:
    landing_dir: Path  # RW_LANDING_DIR: where raw exports arrive (bring your own data here)
    duckdb_path: Path  # RW_DUCKDB_PATH: the build database (never opened by BI)
    serving_dir: Path  # RW_SERVING_DIR: published read-only marts for BI
    reports_dir: Path  # RW_REPORTS_DIR: data docs, report, dbt docs

    @classmethod
    def from_env(cls) -> Settings:
        data = Path(os.environ.get("RW_DATA_DIR", PROJECT_ROOT / "data"))
        return cls(
            landing_dir=Path(os.environ.get("RW_LANDING_DIR", SAMPLE_LANDING_DIR)),
            duckdb_path=Path(os.environ.get("RW_DUCKDB_PATH", data / "warehouse.duckdb")),
            serving_dir=Path(os.environ.get("RW_SERVING_DIR", data / "serving")),
            reports_dir=Path(os.environ.get("RW_REPORTS_DIR", data / "reports")),
        )
