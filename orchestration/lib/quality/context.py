"""The committed GX file context (`expectations/`), opened with this run's output directories.

Suites are read from the repository; validation results go to `<reports_dir>/gx/validations/` and the
Data Docs static site to `<reports_dir>/data_docs/` (index.html), both outside the repository tree.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import great_expectations as gx
import pandas as pd
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context import FileDataContext
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from orchestration.lib.quality.data_docs_offline import make_offline
from orchestration.settings import PROJECT_ROOT

CONTEXT_DIR = PROJECT_ROOT / "expectations"
DATASOURCE, ASSET, BATCH_DEFINITION = "warehouse_frames", "frames", "whole_frame"


def data_docs_dir(reports_dir: Path) -> Path:
    return reports_dir / "data_docs"


def open_context(reports_dir: Path) -> FileDataContext:
    """The repository's context with results and Data Docs written under `reports_dir`."""
    return gx.get_context(
        mode="file",
        context_root_dir=str(CONTEXT_DIR),
        runtime_environment={
            "gx_validations_dir": str(reports_dir / "gx" / "validations"),
            "gx_data_docs_dir": str(data_docs_dir(reports_dir)),
        },
    )


def _safe(text: str) -> str:
    """Result keys become file paths: keep them readable and portable."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "batch"


def validate_frame(
    context: FileDataContext,
    suite_name: str,
    frame: pd.DataFrame,
    *,
    run_name: str,
    batch_label: str,
    index_columns: tuple[str, ...] = (),
) -> tuple[ExpectationSuiteValidationResult, ValidationResultIdentifier]:
    """Validate one frame against a committed suite and keep the result in the results store."""
    suite = context.suites.get(suite_name)
    batch_definition = (
        context.data_sources.get(DATASOURCE).get_asset(ASSET).get_batch_definition(BATCH_DEFINITION)
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    now = dt.datetime.now(dt.UTC)
    result_format: dict = {"result_format": "SUMMARY", "partial_unexpected_count": 5}
    present = [c for c in index_columns if c in frame.columns]
    if present:
        result_format["unexpected_index_column_names"] = present
    result = batch.validate(
        suite,
        result_format=result_format,
        expectation_parameters={"now_utc": pd.Timestamp(now), "today": pd.Timestamp(now.date())},
    )
    run_id = RunIdentifier(run_name=_safe(run_name), run_time=now)
    result.meta["run_id"] = run_id
    result.meta["validation_time"] = now
    result.meta["batch_label"] = batch_label
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
        run_id=run_id,
        batch_identifier=_safe(batch_label),
    )
    context.validation_results_store.set(key, result)
    return result, key


def result_page(reports_dir: Path, key: ValidationResultIdentifier) -> Path:
    *folders, leaf = key.to_tuple()
    return data_docs_dir(reports_dir).joinpath("validations", *folders, f"{leaf}.html")


def render_data_docs(
    context: FileDataContext, reports_dir: Path, keys: list[ValidationResultIdentifier]
) -> Path:
    """Render the pages of `keys` and rebuild the index once, linked to files shipped with the site so
    they render offline (data_docs_offline.py); returns index.html."""
    started = time.time_ns()
    context.build_data_docs(resource_identifiers=keys)
    make_offline(data_docs_dir(reports_dir), written_since_ns=started)
    return data_docs_dir(reports_dir) / "index.html"
