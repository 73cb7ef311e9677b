"""Peak memory and CPU time of a measured process: getrusage plus a sampler of the whole process tree.

`ru_maxrss` of RUSAGE_SELF is this process's peak; RUSAGE_CHILDREN is the largest peak of any waited-for
child (dbt runs as a subprocess of the Dagster step). Neither sees the two at once, so a thread also sums
the resident set of this process and all its descendants from /proc every `interval` seconds: that sum's
maximum is the tree's peak, and its samples give each stage its own peak by time window. The same samples
carry the tree's CPU seconds so far (user + system, finished children included), so a stage's CPU time is
the difference across its window: on a machine shared with other work, CPU time says what the work costs
while wall time also counts the waiting.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
GIB = 1024**3


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rusage_peaks_bytes() -> dict[str, int]:
    """Peak RSS (bytes) of this process and of its largest finished child so far (Linux reports KiB)."""
    return {
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    }


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc/<pid>/stat (field 4, after the parenthesised name)."""
    out: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_bytes()
        except OSError:
            continue
        out[int(entry.name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    return out


def tree_rss_cpu(root: int) -> tuple[int, float]:
    """(resident bytes, CPU seconds so far) of `root` and every live descendant right now.

    A process's utime + stime + cutime + cstime counts itself and its children that have finished, so
    summing it over the live tree counts every process once."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    rss, ticks, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
            stat = Path(f"/proc/{pid}/stat").read_bytes()
            fields = stat[stat.rindex(b")") + 2 :].split()
            ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        except (OSError, IndexError, ValueError):
            pass
    return rss, ticks / TICK


class TreeRssSampler:
    """Samples the RSS of this process tree in a daemon thread: `with TreeRssSampler() as s: ...`."""

    def __init__(self, interval: float = 0.2, limit_bytes: int | None = None) -> None:
        self.interval = interval
        self.limit_bytes = limit_bytes  # abort the process beyond this (a runaway baseline must not swap)
        self.samples: list[tuple[float, int]] = []  # (time.time(), bytes)
        self.cpu: list[tuple[float, float]] = []  # (time.time(), CPU seconds of the tree so far)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        root = os.getpid()
        while not self._stop.is_set():
            rss, cpu = tree_rss_cpu(root)
            now = time.time()
            self.samples.append((now, rss))
            self.cpu.append((now, cpu))
            if self.limit_bytes and rss > self.limit_bytes:
                print(f"memory limit: process tree at {rss / GIB:.1f} GiB > {self.limit_bytes / GIB:.1f} GiB")
                os._exit(86)
            self._stop.wait(self.interval)

    @property
    def peak_bytes(self) -> int:
        return max((b for _, b in self.samples), default=0)

    def peak_between(self, start: float, end: float) -> int:
        """Largest sample in [start, end] (wall-clock seconds), else the latest sample before it."""
        inside = [b for t, b in self.samples if start <= t <= end]
        if inside:
            return max(inside)
        before = [b for t, b in self.samples if t <= start]
        return before[-1] if before else 0

    def cpu_at(self, moment: float) -> float:
        """The tree's CPU seconds at the last sample on or before `moment` (0 before the first)."""
        earlier = [c for t, c in self.cpu if t <= moment]
        return earlier[-1] if earlier else 0.0

    def cpu_between(self, start: float, end: float) -> float:
        return max(0.0, self.cpu_at(end) - self.cpu_at(start))
