"""Shared fixtures: one warehouse built through Dagster on the bundled sample, for tests that read marts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.settings import SAMPLE_LANDING_DIR, Settings


def settings_under(root: Path, landing_dir: Path = SAMPLE_LANDING_DIR) -> Settings:
    return Settings(
        landing_dir=landing_dir,
        duckdb_path=root / "warehouse.duckdb",
        serving_dir=root / "serving",
        reports_dir=root / "reports",
    )


def build_through_dagster(settings: Settings, tags: dict[str, str] | None = None):
    """Materialize every asset of the real Definitions, as `make run` does, into `settings`' paths (`tags`
    as a schedule sets them, e.g. the weekly full checks)."""
    from dagster import DagsterInstance

    from orchestration.definitions import make_definitions

    defs = make_definitions(settings)
    return defs.resolve_job_def("build_warehouse").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False, tags=tags
    )


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, object]]:
    """The sample warehouse, built once per test session through the Dagster job: (settings, run result)."""
    settings = settings_under(tmp_path_factory.mktemp("sample_warehouse"))
    result = build_through_dagster(settings)
    failures = [e.message for e in result.all_events if e.is_step_failure]
    assert result.success, f"sample build failed: {failures}"
    yield settings, result


@pytest.fixture(scope="session")
def built_warehouse(sample_build: tuple[Settings, object]) -> Settings:
    """The sample warehouse built by `sample_build`, for tests that read marts."""
    return sample_build[0]
