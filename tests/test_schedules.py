"""The landing sensor asks for a run exactly when files are new or changed, never twice for one set."""

from __future__ import annotations

from dagster import RunRequest, SkipReason, build_sensor_context

from orchestration.defs.automation.schedules import new_landing_files
from orchestration.settings import Settings


def _tick(cursor, landing):
    context = build_sensor_context(cursor=cursor, resources={"settings": Settings(landing_dir=landing)})
    return new_landing_files(context), context.cursor


def test_sensor_runs_for_new_and_changed_files_only(tmp_path):
    orders = tmp_path / "orders" / "orders"
    orders.mkdir(parents=True)

    result, cursor = _tick(None, tmp_path)
    assert isinstance(result, SkipReason)

    (orders / "orders_2025-01.jsonl").write_text('{"order_id": "o1"}\n')
    (orders / "notes.txt").write_text("not a landing file")  # ignored: matches no documented file family
    result, cursor = _tick(cursor, tmp_path)
    assert isinstance(result, RunRequest)
    first_key = result.run_key

    result, cursor = _tick(cursor, tmp_path)
    assert isinstance(result, SkipReason), "the same files must not start a second run"

    (orders / "orders_2025-02.jsonl").write_text('{"order_id": "o2"}\n')
    result, cursor = _tick(cursor, tmp_path)
    assert isinstance(result, RunRequest) and result.run_key != first_key
    assert result.tags["landing/new_files"] == "1"
    assert result.tags["landing/periods"] == "2025-02"

    (orders / "orders_2025-02.jsonl").write_text('{"order_id": "o2"}\n{"order_id": "o3"}\n')
    result, cursor = _tick(cursor, tmp_path)
    assert isinstance(result, RunRequest), "a changed file is reported by a run (the loader then flags it)"

    # A range of days delivered at once (a late week, a re-export) is one run over the whole range.
    for day in ("2025-03-03", "2025-03-01", "2025-03-02"):
        (orders / f"orders_{day}.jsonl").write_text(f'{{"order_id": "{day}"}}\n')
    result, cursor = _tick(cursor, tmp_path)
    assert result.tags == {"landing/new_files": "3", "landing/periods": "2025-03-01..2025-03-03"}
