"""The visual report: every chart drawn from the published marts with the right numbers (worked out by hand
from tests/serving_fixture.py), self-contained, and visibly rendered by headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from serving_fixture import make_build_db
from serving_screenshot import CHROMIUM, pixels, screenshot

from orchestration.lib.serving.publish import publish_marts


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    done = publish_marts(
        make_build_db(root / "build.duckdb"), root / "serving", root / "reports", dbt_docs=False
    )
    return done.report_path


def _section(html: str, mart: str) -> str:
    start = html.index(f'<section id="{mart}">')
    return html[start : html.index("</section>", start)]


def _values(svg: str, series: str | None = None, cls: str = "bar") -> list[float]:
    pattern = (
        rf'class="{cls}"'
        + (rf' data-series="{re.escape(series)}"' if series else "")
        + r'[^>]*?data-value="([-0-9.e]+)"'
    )
    return [float(v) for v in re.findall(pattern, svg)]


def test_heatmap_has_one_cell_per_cohort_and_offset_with_its_retention(report: Path):
    html = report.read_text()
    cells = re.findall(
        r'class="heat-cell" data-row="(\d{4}-\d{2}) \(n=20\)" data-col="(\d+)" data-value="([0-9.]+)"', html
    )
    # Six cohorts Jan..Jun 2024 observed to June: 6 + 5 + ... + 1 = 21 cells; rate 1 at offset 0, else
    # (20 // (k + 1)) / 20 active of 20.
    expected = {
        (f"2024-{c + 1:02d}", k): 1.0 if k == 0 else (20 // (k + 1)) / 20
        for c in range(6)
        for k in range(6 - c)
    }
    assert {(row, int(col)): float(v) for row, col, v in cells} == pytest.approx(expected)
    assert len(cells) == 21


def test_flows_equity_value_lifecycle_and_recovery_charts_show_the_marts(report: Path):
    html = report.read_text()
    flows = _section(html, "mart_customer_flows")
    assert _values(flows, "gained") == [12, 11, 10, 9, 8, 7]
    assert _values(flows, "lost") == [0, 1, 2, 3, 4, 5]
    assert _values(flows, "won back") == [1] * 6

    # Equity has no `all` rows in the fixture: organic + referral summed, ROC recomputed from the sums, over
    # the customers on the books at the start (retained cash flow and equity), acquisition beside it.
    equity = [2 * (1000 + 100 * m - 30 * m * m) for m in range(6)]
    retained_cash = [2 * (190 + 10 * m) for m in range(6)]
    retained_end = [2 * (950 + 95 * m - 30 * m * m) for m in range(6)]
    roc = [(retained_cash[m] + retained_end[m] - equity[m - 1]) / equity[m - 1] for m in range(1, 6)]
    section = _section(html, "mart_customer_equity")
    assert _values(section, "roc") == pytest.approx(roc)
    assert _values(section, "acquisition contribution") == pytest.approx([2 * (60 + 5 * m) for m in range(6)])
    assert "2024-06 *" in section and "2024-05 *" not in section  # the partial as_of_date month is marked

    # CLV medians per channel, numpy on the fixture's formula (quantile_cont is linear interpolation).
    clv = np.array([(i % 40) * 2.5 + (i % 3) * 30 for i in range(120)])
    medians = [float(np.median(clv[np.arange(120) % 3 == k])) for k in range(3)]
    boxes = re.findall(r'class="box" data-category="([a-z_]+)" data-median="([0-9.]+)"', html)
    assert [(c, float(m)) for c, m in boxes] == [
        ("organic", pytest.approx(medians[0])),
        ("paid_search", pytest.approx(medians[1])),
        ("referral", pytest.approx(medians[2])),
    ]

    # Every customer-month is one of six stages, 20 customers each: every share is 1/6.
    mix = _values(_section(html, "fct_customer_months"))
    assert mix == pytest.approx([1 / 6] * 36, abs=1e-6)  # written with 6 decimals

    recovery = _section(html, "mart_post_purchase_recovery")
    assert re.findall(r">(\w+) \(n=(\d+)\)<", recovery) == [
        ("fast", "40"),
        ("slow", "30"),
        ("unsolved", "10"),
    ]
    assert _values(recovery, "repurchased within the window") == pytest.approx([30 / 40, 10 / 25, 1 / 10])
    assert _values(recovery, "churned now") == pytest.approx([4 / 40, 9 / 30, 6 / 10])


def test_the_report_is_one_self_contained_file(report: Path):
    html = report.read_text()
    for fetch in ("<script", "src=", "href=", "url(", "@import", "<link"):
        assert fetch not in html, fetch
    assert set(re.findall(r"https?://[^\"' ]+", html)) == {
        "http://www.w3.org/2000/svg"
    }  # a namespace, not fetched


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package `chromium`)")
def test_headless_chromium_screenshot_shows_the_heatmap_and_charts(report: Path):
    image = screenshot(report, "serving_report_fixture", 2400)
    assert image.shape == (2400, 1400, 3)
    # Heatmap: the darkest cells (offset 0) and the lighter retention cells are drawn.
    assert pixels(image, (8, 81, 156)) > 1500
    assert len({tuple(p) for p in image[100:400, 100:400].reshape(-1, 3)}) > 20
    # Bars of the flows (gained green, lost red), equity line blue, lifecycle colours, box plots.
    for colour in ((44, 160, 44), (214, 39, 40), (31, 119, 180), (255, 127, 14), (148, 103, 189)):
        assert pixels(image, colour) > 2000, colour
    # Ink all the way down the page: every 300-px band has chart pixels, not a blank page.
    non_white = (image < 235).any(axis=2)
    bands = [float(non_white[y : y + 300].mean()) for y in range(0, 2100, 300)]
    assert min(bands) > 0.01, bands
    assert len({tuple(p) for p in image[::4, ::4].reshape(-1, 3)}) > 200


def test_funnel_and_retention_mix_charts_show_the_marts(report: Path):
    html = report.read_text()
    funnel = _section(html, "mart_lifecycle_funnel")
    # The fixture's three cohort months summed, channel 'all'; steps awareness .. advocacy.
    assert _values(funnel, "entered as lead") == [300, 120, 90, 36, 9]
    assert _values(funnel, "entered as contact") == [0, 60, 30, 15, 3]
    assert _values(funnel, "entered as guest") == [0, 0, 24, 6, 0]
    # Reached from the step before, over the entry points that measure both: 120/300, (90+30)/(120+60),
    # 57/144, 12/57.
    assert re.findall(r"<td>(\d+)%</td>", funnel) == ["40", "67", "40", "21"]
    assert "the funnel starts at" not in funnel

    mix = _section(html, "mart_retention_mix")
    # Repurchase pooled over the three observed months, churn over all six; levers in the report's order.
    repurchased = [0.7, 0.9, 0.7, 0.7], [0.5] * 4
    churned = [0.1] * 4, [0.2] * 4
    assert _values(mix, "exposed") == pytest.approx(repurchased[0] + churned[0])
    assert _values(mix, "not exposed") == pytest.approx(repurchased[1] + churned[1])
    assert "association, not an effect" in mix


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package `chromium`)")
def test_headless_chromium_screenshot_shows_the_funnel_and_mix(report: Path, tmp_path: Path):
    """The two sections alone (page head and both sections), so their colours are not other charts'."""
    html = report.read_text()
    head = html[: html.index("<body>") + len("<body>")]
    page = tmp_path / "funnel_and_mix.html"
    page.write_text(
        head
        + _section(html, "mart_lifecycle_funnel")
        + "</section>"
        + _section(html, "mart_retention_mix")
        + "</section></body></html>"
    )
    image = screenshot(page, "serving_report_funnel_mix", 1100)
    for colour in (
        (31, 119, 180),
        (255, 127, 14),
        (156, 163, 175),
        (44, 160, 44),
    ):  # lead, contact, guest/not, exposed
        assert pixels(image, colour) > 2000, colour
