"""The serving directory: immutable build directories and one `current` symlink swapped atomically.

    <serving_dir>/
      current -> builds/<build_id>       the only path BI uses; replaced by rename(2), never edited
      builds/<build_id>/                 complete, fsynced, never written again
      builds/.tmp-<build_id>/            a publish in progress (or one that was killed); never read
      .publish.lock                      one publish at a time (flock, released by the kernel on kill -9)

A reader that opens `current/...` resolves the symlink once at open, so it sees the old build or the new
one, never a mix; a reader that reads several files should resolve `current` once (os.path.realpath) and
read them all from that directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

CURRENT = "current"
BUILDS = "builds"
TMP_PREFIX = ".tmp-"
MANIFEST = "manifest.json"
REPORT = "report.html"
DBT_DOCS = "dbt_docs.html"
REPORT_FILES = (REPORT, DBT_DOCS)  # also copied to reports_dir on publish and rollback


def new_build_id(now: datetime, fingerprint: str) -> str:
    """Sortable id: UTC time to the microsecond, then a short hash of what was published and by whom."""
    digest = hashlib.sha256(f"{now.isoformat()}|{os.getpid()}|{fingerprint}".encode()).hexdigest()[:8]
    return f"{now:%Y%m%dT%H%M%S%fZ}-{digest}"


def builds_dir(serving_dir: Path) -> Path:
    return serving_dir / BUILDS


def list_builds(serving_dir: Path) -> list[str]:
    """Complete builds (those with a manifest), oldest first."""
    root = builds_dir(serving_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and (p / MANIFEST).is_file())


def current_build(serving_dir: Path) -> str | None:
    link = serving_dir / CURRENT
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def fsync_path(path: Path) -> None:
    """Flush a file or a directory entry list to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        fsync_path(path)
    fsync_path(root)


def make_read_only(root: Path) -> None:
    """A published build is immutable: its files lose write permission, so a reader that forgets
    `read_only` cannot change what other readers see (pruning still works: it needs the directory's)."""
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(0o444)


def switch_current(serving_dir: Path, build_id: str) -> None:
    """Point `current` at `build_id` with one rename(2): readers see the old target or the new one."""
    if not (builds_dir(serving_dir) / build_id / MANIFEST).is_file():
        raise FileNotFoundError(f"no complete build {build_id} under {builds_dir(serving_dir)}")
    tmp_link = serving_dir / f".{CURRENT}-{build_id}.tmp"
    tmp_link.unlink(missing_ok=True)
    os.symlink(Path(BUILDS) / build_id, tmp_link)  # relative: the serving dir can be moved or mounted
    os.replace(tmp_link, serving_dir / CURRENT)
    fsync_path(serving_dir)


def previous_build(serving_dir: Path) -> str:
    """The newest complete build older than the current one (what a rollback switches to)."""
    builds, current = list_builds(serving_dir), current_build(serving_dir)
    older = [b for b in builds if current is None or b < current]
    if not older:
        raise LookupError(f"no build older than {current} in {builds_dir(serving_dir)} to roll back to")
    return older[-1]


def prune(serving_dir: Path, keep: int) -> list[str]:
    """Delete all but the newest `keep` complete builds; never the one `current` points at."""
    builds, current = list_builds(serving_dir), current_build(serving_dir)
    doomed = [b for b in builds[: max(len(builds) - keep, 0)] if b != current]
    for build_id in doomed:
        shutil.rmtree(builds_dir(serving_dir) / build_id)
    return doomed


def remove_stale_tmp(serving_dir: Path) -> list[str]:
    """Leftovers of killed publishes; only called while holding the publish lock, so none is live."""
    root = builds_dir(serving_dir)
    stale = [p for p in root.glob(f"{TMP_PREFIX}*") if p.is_dir()] if root.is_dir() else []
    for path in stale:
        shutil.rmtree(path)
    for link in serving_dir.glob(f".{CURRENT}-*.tmp"):
        link.unlink()
    return [p.name for p in stale]


@contextmanager
def publish_lock(serving_dir: Path) -> Iterator[None]:
    """One publish at a time per serving directory; a second one fails fast instead of interleaving."""
    serving_dir.mkdir(parents=True, exist_ok=True)
    with open(serving_dir / ".publish.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RuntimeError(f"another publish into {serving_dir} is running") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def copy_reports(build_dir: Path, reports_dir: Path, names: tuple[str, ...] = REPORT_FILES) -> None:
    """Copy a build's report files into reports_dir, each replaced atomically (rename over the old one)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (build_dir / name).is_file():
            tmp = reports_dir / f".{name}.tmp"
            shutil.copyfile(build_dir / name, tmp)
            os.replace(tmp, reports_dir / name)
