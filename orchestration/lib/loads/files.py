"""Finding a table's landing files and fingerprinting them."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from pathlib import Path

from orchestration.lib.raw_schema import RawTable

CHUNK = 1 << 20


def landing_files(landing_dir: Path, table: RawTable) -> list[Path]:
    """The table's files (plain and .gz), in name order: later periods load after earlier ones."""
    found = {p for pattern in table.globs for p in landing_dir.glob(pattern) if p.is_file()}
    return sorted(found, key=lambda p: (p.name, str(p)))


def relative_name(landing_dir: Path, path: Path) -> str:
    return path.relative_to(landing_dir).as_posix()


def sha256_of(path: Path) -> tuple[str, int]:
    """Checksum and size of the file's bytes as stored (a re-compressed file counts as changed)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def text_size(path: Path, stored_size: int) -> int:
    """Bytes of text in the file: a gzip file's trailer holds its uncompressed size (modulo 4 GiB)."""
    if not path.name.endswith(".gz") or stored_size < 18:
        return stored_size
    with path.open("rb") as f:
        f.seek(-4, 2)
        return max(int.from_bytes(f.read(4), "little"), stored_size)


def csv_header(path: Path) -> list[str] | None:
    """Field names of the header line, or None when the file has no first line."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as raw:
        first = raw.readline()
    if not first.strip():
        return None
    text = first.decode("utf-8-sig", errors="replace")
    return [name.strip() for name in next(csv.reader(io.StringIO(text)))]
