"""The sample build through Dagster ends with a publish: every real mart served (PII masked) in the old
storage format, the report drawn from it, dbt docs beside it, and a Chromium screenshot with the charts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from serving_screenshot import CHROMIUM, pixels, screenshot

from orchestration.lib.serving.pii import pii_category
from orchestration.lib.serving.storage import storage_number


def test_the_build_published_every_mart_for_bi(built_warehouse):
    current = Path(built_warehouse.serving_dir) / "current"
    manifest = json.loads((current / "manifest.json").read_text())
    served = current / "serving.duckdb"
    assert storage_number(served) == 64
    with (
        duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as src,
        duckdb.connect(str(served), read_only=True) as srv,
    ):
        names = "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        marts = [r[0] for r in src.execute(names).fetchall()]
        assert len(marts) >= 11
        assert [r[0] for r in srv.execute(names).fetchall()] == marts == sorted(manifest["marts"])
        for mart in marts:
            rows = src.execute(f"select count(*) from marts.{mart}").fetchone()[0]
            assert srv.execute(f"select count(*) from marts.{mart}").fetchone()[0] == rows > 0, mart
            assert manifest["marts"][mart]["rows"] == rows
            # Every served column that looks personal was hashed: 64 hex digits or null, nothing else.
            for column in [r[0] for r in srv.execute(f"describe marts.{mart}").fetchall()]:
                if pii_category(column):
                    assert manifest["marts"][mart]["masked"][column] == "hash", (mart, column)
                    hashed = f"regexp_full_match({column}, '[0-9a-f]{{64}}')"
                    clear = srv.execute(f"select count(*) from marts.{mart} where not {hashed}").fetchone()[0]
                    assert clear == 0, (mart, column)
        as_of = src.execute("select as_of_date::varchar from intermediate.int_clv__settings").fetchone()[0]
        assert manifest["as_of_date"] == as_of
        assert srv.execute("select as_of_date::varchar from _build").fetchone()[0] == as_of

        # The heatmap: one cell per `all` cohort row, with its retention rate.
        expected = {
            (c, k): r
            for c, k, r in src.execute(
                "select strftime(cohort_month, '%Y-%m'), month_offset::varchar, retention_rate "
                "from marts.mart_retention_cohorts "
                "where acquisition_channel = 'all' and retention_rate is not null"
            ).fetchall()
        }
    html = (current / "report.html").read_text()
    cells = re.findall(r'data-row="(\d{4}-\d{2}) \(n=[\d,]+\)" data-col="(\d+)" data-value="([0-9.]+)"', html)
    assert len(cells) == len(expected) > 100
    assert {(c, k): float(v) for c, k, v in cells} == pytest.approx(expected, abs=1e-6)

    assert (current / "dbt_docs.html").stat().st_size > 100_000
    for name in ("report.html", "dbt_docs.html"):
        assert (Path(built_warehouse.reports_dir) / name).read_bytes() == (current / name).read_bytes()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package `chromium`)")
def test_the_sample_report_renders_its_charts_in_headless_chromium(built_warehouse):
    image = screenshot(
        Path(built_warehouse.serving_dir) / "current" / "report.html", "serving_report_sample", 3200
    )
    assert image.shape == (3200, 1400, 3)
    assert pixels(image, (8, 81, 156)) > 5000  # the heatmap's darkest cells (month 0 of every cohort)
    assert len({tuple(p) for p in image[150:900, 150:1300].reshape(-1, 3)}) > 50  # its shades
    for colour in ((44, 160, 44), (214, 39, 40), (31, 119, 180), (255, 127, 14), (148, 103, 189)):
        assert pixels(image, colour) > 2000, colour  # bars, lines, stage mix, boxes
    non_white = (image < 235).any(axis=2)
    bands = [float(non_white[y : y + 300].mean()) for y in range(0, 2700, 300)]
    assert min(bands) > 0.01, bands
