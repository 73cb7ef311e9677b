"""Wall-clock length of a set of possibly overlapping time intervals (dbt runs two threads at once)."""

from __future__ import annotations

Interval = tuple[float, float]


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def union_seconds(intervals: list[Interval], minus: list[Interval] = ()) -> float:
    """Seconds covered by `intervals` and not by `minus`."""
    total = 0.0
    cut = _merge(list(minus))
    for start, end in _merge(intervals):
        covered = sum(max(0.0, min(end, b) - max(start, a)) for a, b in cut)
        total += (end - start) - covered
    return total
