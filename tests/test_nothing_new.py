"""A run with nothing new (the daily schedule, or `python -m orchestration build`, when no landing file
arrived since the current serving build) loads nothing, starts no dbt, publishes nothing, and says so: in
the log, in a run tag, and on the command line. The session's sample build is copied, so its files stay
as they are."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import settings_under
from dagster import DagsterInstance

from orchestration.__main__ import main
from orchestration.definitions import make_definitions
from orchestration.lib import nothing_new
from orchestration.lib.serving.builds import current_build, list_builds
from orchestration.settings import Settings


def copy_of(settings: Settings, root: Path) -> Settings:
    root.mkdir(parents=True)
    shutil.copy(settings.duckdb_path, root / "warehouse.duckdb")
    shutil.copytree(settings.serving_dir, root / "serving", symlinks=True)
    return settings_under(root, landing_dir=Path(settings.landing_dir))


def test_a_run_with_no_new_file_skips_dbt_and_publish_and_says_nothing_new(
    built_warehouse, tmp_path, monkeypatch, capsys
):
    settings = copy_of(built_warehouse, tmp_path / "warehouse")
    serving = Path(settings.serving_dir)
    published = current_build(serving), list_builds(serving)

    instance = DagsterInstance.ephemeral()
    job = make_definitions(settings).resolve_job_def("build_warehouse")
    result = job.execute_in_process(instance=instance, raise_on_error=False)

    assert result.success
    assert instance.get_run_by_id(result.run_id).tags.get(nothing_new.RUN_TAG) == "true"
    # Only the raw load assets report (each found no new file); no dbt model, CLV table or publish.
    assert {e.asset_key.path[0] for e in result.get_asset_materialization_events()} == {"raw"}
    skipped = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED"}
    assert {"clv_fit", "dbt_after_clv", "serving__published_marts"} <= skipped
    assert (current_build(serving), list_builds(serving)) == published

    # The command line a user runs says it, and publishes nothing either.
    for name, value in settings.model_dump().items():
        if name in ("landing_dir", "duckdb_path", "serving_dir", "reports_dir"):
            monkeypatch.setenv(f"RW_{name.upper()}", str(value))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["build"]) == 0
    assert "Nothing new" in capsys.readouterr().out
    assert (current_build(serving), list_builds(serving)) == published
