"""The report's NPS and CLV backtest sections draw the marts' numbers (hand-made rows, no build)."""

from __future__ import annotations

import re

import duckdb
import pytest

from orchestration.lib.serving import report


def _values(svg: str, series: str | None = None) -> list[float]:
    pattern = (
        r'class="bar"'
        + (rf' data-series="{re.escape(series)}"' if series else "")
        + r'[^>]*?data-value="([-0-9.e]+)"'
    )
    return [float(v) for v in re.findall(pattern, svg)]


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute("create schema marts")
    connection.execute(
        """create table marts.mart_nps as select * from (values
            (date '2024-01-01', 'all', 'all', 25.0, 4), (date '2024-01-01', 'segment', 'smb', 50.0, 2),
            (date '2024-07-01', 'all', 'all', -10.0, 10)
        ) as t(month_start, segment_type, segment, nps, responses)"""
    )
    connection.execute(
        """create table marts.mart_clv_backtest as select * from (values
            (date '2024-05-31', date '2024-11-30', '0', 0, 4, 2, 1.0, 0.5, 0.25, -0.5),
            (date '2024-06-30', date '2024-12-31', '0', 0, 4, 2, 1.0, 0.5, 0.25, -0.5),
            (date '2024-06-30', date '2024-12-31', '1', 1, 2, 2, 1.0, 1.0, 0.5, -0.5),
            (date '2024-06-30', date '2024-12-31', 'all', null, 6, 4, 2.0, 0.6667, 0.3333, -0.5),
            (date '2024-05-31', date '2024-11-30', 'all', null, 4, 2, null, 0.5, null, null)
        ) as t(cutoff_date, holdout_end_date, frequency_bucket, frequency_min, customers, actual_purchases,
               predicted_purchases, actual_per_customer, predicted_per_customer, relative_error)"""
    )
    yield connection
    connection.close()


def test_nps_chart_shows_the_all_rows_by_month(con):
    svg = report.nps_by_month(con)
    assert _values(svg) == [25.0, -10.0]
    assert "2024-01 (n=4)" in svg and "2024-07 (n=10)" in svg


def test_backtest_chart_shows_the_latest_cutoff_and_a_row_per_cutoff(con):
    html = report.clv_backtest(con)
    assert _values(html, "actual") == [0.5, 1.0]
    assert _values(html, "predicted (BG/NBD)") == [0.25, 0.5]
    rows = re.findall(r"<tr><td>(\d{4}-\d{2}-\d{2})</td>.*?</tr>", html)
    assert rows == ["2024-05-31", "2024-06-30"]
    assert "<td>-50%</td>" in html  # the fitted cutoff's total error; the failed one shows none
