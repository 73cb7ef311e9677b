"""Split records by export period and write landing files `<source>/<family>/<family>_<period>.<ext>`."""

from __future__ import annotations

import gzip
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from seeds.text import text_bytes

GZIP_LEVEL = 6  # fixed: the bytes of a .gz file depend on the level


@dataclass(frozen=True)
class Periods:
    """Export periods: calendar months or days (UTC), identified by an integer key."""

    kind: str  # month | day

    def keys(self, epoch_s: np.ndarray) -> np.ndarray:
        days = (np.asarray(epoch_s, dtype=np.int64) // 86400).astype("datetime64[D]")
        unit = "M" if self.kind == "month" else "D"
        return days.astype(f"datetime64[{unit}]").astype(np.int64)

    def label(self, key: int) -> str:
        return str(np.datetime64(int(key), "M" if self.kind == "month" else "D"))

    def start_epoch(self, key: int) -> int:
        start = np.datetime64(int(key), "M" if self.kind == "month" else "D").astype("datetime64[s]")
        return int(start.astype(np.int64))


def write_bytes(path: Path, content: bytes, compress: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        content = gzip.compress(content, compresslevel=GZIP_LEVEL, mtime=0)
    path.write_bytes(content)
    return path


def write_family(
    landing: Path,
    source: str,
    family: str,
    ext: str,
    export_s: np.ndarray,
    build_lines: Callable[[np.ndarray, int], pa.Array],
    header: Callable[[int], str] | None,
    periods: Periods,
    compress: bool,
) -> list[Path]:
    """Write one file per export period holding the records exported in it, in export-time order.

    `build_lines(index, period_start_epoch)` formats the records at `index`; `header(period_start)`
    gives the CSV header of that period's file (None for JSON lines).
    """
    export_s = np.asarray(export_s, dtype=np.int64)
    order = np.argsort(export_s, kind="stable")
    keys = periods.keys(export_s[order])
    cuts = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], cuts]).astype(np.int64)
    ends = np.concatenate([cuts, [len(order)]]).astype(np.int64)
    written = []
    pending: deque[Future] = deque()
    # compression runs in threads (zlib releases the GIL) while the next period is formatted
    with ThreadPoolExecutor(max_workers=2) as pool:
        for lo, hi in zip(starts, ends, strict=True):
            if hi <= lo:
                continue
            key = int(keys[lo])
            period_start = periods.start_epoch(key)
            body = text_bytes(build_lines(order[lo:hi], period_start))
            head = b"" if header is None else (header(period_start) + "\n").encode()
            path = landing / source / family / f"{family}_{periods.label(key)}.{ext}"
            pending.append(pool.submit(write_bytes, path, head + body, compress))
            while len(pending) > 2:
                written.append(pending.popleft().result())
        written.extend(f.result() for f in pending)
    return written
