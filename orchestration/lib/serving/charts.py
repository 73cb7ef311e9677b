"""Inline SVG charts, generated in Python so the report is one self-contained file (no JS, no CDN).

Every function takes plain lists already aggregated in DuckDB (a few hundred points at most) and returns an
`<svg>` string. Marks carry `data-*` attributes so tests can check what was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

Number = float | int | None
Fmt = Callable[[float], str]

WIDTH, HEIGHT = 1280, 250
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 16, 46
PALETTE = ["#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MUTED = "#6b7280"


def number(v: float) -> str:
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.1f}B"
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}" if a >= 10 or v == int(v) else f"{v:.2f}"


def percent(v: float) -> str:
    return f"{v * 100:.0f}%"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    return [start + i * step for i in range(int(math.ceil((hi - start) / step)) + 1)]


def _svg(body: list[str], width: int = WIDTH, height: int = HEIGHT, label: str = "") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">' + "".join(body) + "</svg>"
    )


def _text(
    x: float, y: float, s: str, anchor: str = "middle", size: int = 11, fill: str = MUTED, extra=""
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}" {extra}>'
        f"{escape(s)}</text>"
    )


class _Frame:
    """Plot area with a linear y axis and evenly spaced x slots."""

    def __init__(self, n: int, lo: float, hi: float, fmt: Fmt, width: int = WIDTH, height: int = HEIGHT):
        self.ticks = nice_ticks(min(lo, 0.0), max(hi, 0.0))
        self.lo, self.hi = self.ticks[0], self.ticks[-1]
        self.n, self.fmt, self.width, self.height = max(n, 1), fmt, width, height
        self.plot_w = width - LEFT - RIGHT
        self.plot_h = height - TOP - BOTTOM

    def x(self, i: float) -> float:
        return LEFT + (i + 0.5) * self.plot_w / self.n

    def slot(self) -> float:
        return self.plot_w / self.n

    def y(self, v: float) -> float:
        return TOP + (self.hi - v) / (self.hi - self.lo) * self.plot_h

    def axes(self, x_labels: Sequence[str], every_label: bool = False) -> list[str]:
        """Grid, y ticks and x labels; time axes thin their labels out, category axes show them all."""
        out = []
        for t in self.ticks:
            y = self.y(t)
            out.append(
                f'<line x1="{LEFT}" x2="{self.width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            )
            out.append(_text(LEFT - 6, y + 4, self.fmt(t), "end"))
        out.append(
            f'<line x1="{LEFT}" x2="{self.width - RIGHT}" y1="{self.y(0):.1f}" y2="{self.y(0):.1f}" '
            'stroke="#9ca3af"/>'
        )
        every = 1 if every_label else max(1, math.ceil(len(x_labels) / max(self.plot_w // 80, 1)))
        for i, label in enumerate(x_labels):
            if i % every == 0:
                out.append(_text(self.x(i), self.height - BOTTOM + 16, label))
        return out


def legend(items: Sequence[tuple[str, str]]) -> str:
    """HTML legend (outside the SVG so it wraps)."""
    return (
        '<div class="legend">'
        + "".join(f'<span><i style="background:{c}"></i>{escape(n)}</span>' for n, c in items)
        + "</div>"
    )


def heatmap(
    row_labels: Sequence[str], col_labels: Sequence[str], cells: dict[tuple[int, int], float], label: str
) -> str:
    """Rows x columns of shares in [0, 1]; darker is higher. Empty cells (future offsets) are not drawn."""
    cell_w = max(8.0, min(34.0, (WIDTH - 110) / max(len(col_labels), 1)))
    cell_h = max(10.0, min(22.0, 700 / max(len(row_labels), 1)))
    width = int(110 + cell_w * len(col_labels) + 10)
    height = int(30 + cell_h * len(row_labels) + 10)
    top = max((v for (r, c), v in cells.items() if c > 0), default=1.0) or 1.0
    body = []
    for j, col in enumerate(col_labels):
        if len(col_labels) <= 40 or j % 3 == 0:
            body.append(_text(110 + (j + 0.5) * cell_w, 20, col, size=10))
    for i, row in enumerate(row_labels):
        body.append(_text(104, 30 + (i + 0.5) * cell_h + 4, row, "end", size=10))
    for (i, j), v in sorted(cells.items()):
        share = 1.0 if j == 0 else min(v / top, 1.0)  # offset 0 is 100% by definition; scale the rest
        r, g, b = (int(247 - share * (247 - c)) for c in (8, 81, 156))
        x, y = 110 + j * cell_w, 30 + i * cell_h
        body.append(
            f'<rect class="heat-cell" data-row="{escape(row_labels[i])}" data-col="{escape(col_labels[j])}" '
            f'data-value="{v:.6f}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{cell_w - 1:.1f}" height="{cell_h - 1:.1f}" '
            f'fill="rgb({r},{g},{b})"><title>{escape(row_labels[i])} +{escape(col_labels[j])}: '
            f"{v * 100:.1f}%</title></rect>"
        )
        if cell_w >= 26 and cell_h >= 14:
            fill = "#ffffff" if share > 0.55 else "#111827"
            body.append(_text(x + cell_w / 2, y + cell_h / 2 + 3, f"{v * 100:.0f}", size=9, fill=fill))
    return _svg(body, width, height, label)


def diverging_bars(
    x_labels: Sequence[str],
    up: Sequence[tuple[str, Sequence[float], str]],
    down: Sequence[tuple[str, Sequence[float], str]],
    line: tuple[str, Sequence[float], str] | None,
    label: str,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Stacked bars above zero (`up`), below zero (`down`), and an optional line (e.g. net change)."""
    n = len(x_labels)
    top = max((sum(s[1][i] for s in up) for i in range(n)), default=0)
    bottom = -max((sum(s[1][i] for s in down) for i in range(n)), default=0)
    if line:
        top, bottom = max([top, *line[1]]), min([bottom, *line[1]])
    f = _Frame(n, bottom, top, number, width, height)
    body = f.axes(x_labels)
    bar_w = f.slot() * 0.7
    for i in range(n):
        for sign, stack in ((1, up), (-1, down)):
            base = 0.0
            for name, values, color in stack:
                v = sign * values[i]
                y0, y1 = f.y(base), f.y(base + v)
                body.append(
                    f'<rect class="bar" data-series="{escape(name)}" data-value="{values[i]}" '
                    f'x="{f.x(i) - bar_w / 2:.1f}" y="{min(y0, y1):.1f}" width="{bar_w:.1f}" '
                    f'height="{abs(y1 - y0):.1f}" fill="{color}"/>'
                )
                base += v
    if line:
        body.append(_polyline(f, line[1], line[2], line[0]))
    return _svg(body, width, height, label)


def _polyline(f: _Frame, values: Sequence[Number], color: str, name: str) -> str:
    points = " ".join(f"{f.x(i):.1f},{f.y(v):.1f}" for i, v in enumerate(values) if v is not None)
    return (
        f'<polyline class="line" data-series="{escape(name)}" points="{points}" fill="none" '
        f'stroke="{color}" stroke-width="2.2"/>'
    )


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number], str]],
    fmt: Fmt,
    label: str,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    values = [v for _, vs, _ in series for v in vs if v is not None]
    f = _Frame(len(x_labels), min(values, default=0), max(values, default=1), fmt, width, height)
    body = f.axes(x_labels)
    for name, vs, color in series:
        body.append(_polyline(f, vs, color, name))
    return _svg(body, width, height, label)


def signed_bars(
    x_labels: Sequence[str],
    values: Sequence[Number],
    fmt: Fmt,
    label: str,
    width: int = WIDTH,
    height: int = HEIGHT,
    series: str = "",
) -> str:
    """One bar per x, green above zero and red below (e.g. Return on Customer); `series` names the bars."""
    present = [v for v in values if v is not None]
    f = _Frame(len(x_labels), min(present, default=0), max(present, default=1), fmt, width, height)
    body = f.axes(x_labels)
    bar_w = f.slot() * 0.7
    named = f' data-series="{escape(series)}"' if series else ""
    for i, v in enumerate(values):
        if v is None:
            continue
        y0, y1 = f.y(0), f.y(v)
        body.append(
            f'<rect class="bar"{named} data-value="{v}" '
            f'x="{f.x(i) - bar_w / 2:.1f}" y="{min(y0, y1):.1f}" '
            f'width="{bar_w:.1f}" height="{abs(y1 - y0):.1f}" fill="{"#2ca02c" if v >= 0 else "#d62728"}"/>'
        )
    return _svg(body, width, height, label)


def stacked_shares(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    label: str,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """100% stacked columns: each x's series values as shares of their total."""
    f = _Frame(len(x_labels), 0, 1, percent, width, height)
    body = f.axes(x_labels)
    bar_w = f.slot() * 0.85
    for i in range(len(x_labels)):
        total = sum(s[1][i] for s in series) or 1
        base = 0.0
        for name, values, color in series:
            share = values[i] / total
            y0, y1 = f.y(base), f.y(base + share)
            body.append(
                f'<rect class="bar" data-series="{escape(name)}" data-value="{share:.6f}" '
                f'x="{f.x(i) - bar_w / 2:.1f}" y="{y1:.1f}" width="{bar_w:.1f}" height="{y0 - y1:.1f}" '
                f'fill="{color}"/>'
            )
            base += share
    return _svg(body, width, height, label)


def box_plot(
    categories: Sequence[str],
    stats: Sequence[Sequence[float]],
    fmt: Fmt,
    label: str,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """One box per category from (p10, p25, p50, p75, p90, mean)."""
    lo = min((s[0] for s in stats), default=0)
    hi = max((s[4] for s in stats), default=1)
    f = _Frame(len(categories), lo, hi, fmt, width, height)
    body = f.axes(categories, every_label=True)
    w = min(f.slot() * 0.5, 90)
    for i, (p10, p25, p50, p75, p90, mean) in enumerate(stats):
        x, color = f.x(i), PALETTE[i % len(PALETTE)]
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.y(p90):.1f}" y2="{f.y(p10):.1f}" stroke="{color}"/>'
        )
        body.append(
            f'<rect class="box" data-category="{escape(categories[i])}" data-median="{p50}" '
            f'x="{x - w / 2:.1f}" y="{f.y(p75):.1f}" width="{w:.1f}" '
            f'height="{max(f.y(p25) - f.y(p75), 1):.1f}" '
            f'fill="{color}" fill-opacity="0.35" stroke="{color}"/>'
        )
        body.append(
            f'<line x1="{x - w / 2:.1f}" x2="{x + w / 2:.1f}" y1="{f.y(p50):.1f}" y2="{f.y(p50):.1f}" '
            f'stroke="{color}" stroke-width="3"/>'
        )
        body.append(f'<circle cx="{x:.1f}" cy="{f.y(mean):.1f}" r="4" fill="#111827"/>')
    return _svg(body, width, height, label)


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number], str]],
    fmt: Fmt,
    label: str,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Bars side by side per category, one per series."""
    present = [v for _, vs, _ in series for v in vs if v is not None]
    f = _Frame(len(categories), min(present, default=0), max(present, default=1), fmt, width, height)
    body = f.axes(categories, every_label=True)
    w = f.slot() * 0.8 / max(len(series), 1)
    for i in range(len(categories)):
        for k, (name, values, color) in enumerate(series):
            v = values[i]
            if v is None:
                continue
            x = f.x(i) - f.slot() * 0.4 + k * w
            y0, y1 = f.y(0), f.y(v)
            body.append(
                f'<rect class="bar" data-series="{escape(name)}" data-value="{v}" x="{x:.1f}" '
                f'y="{min(y0, y1):.1f}" width="{w * 0.92:.1f}" height="{abs(y1 - y0):.1f}" fill="{color}"/>'
            )
            body.append(_text(x + w / 2, min(y0, y1) - 4, fmt(v), size=10, fill="#111827"))
    return _svg(body, width, height, label)
