"""Benchmark data: generate a scale once (cached), then stage a landing directory whose last day is held back.

The generator writes one file per source family per month. To measure a daily increment, the last month's
files are split in two at the first record stamped on the window's last day (files are in export order, and
nothing stamped on that day can have been exported earlier): `<family>_<month>` keeps the month up to then
and goes into the landing directory for the full build; `<family>_<last day>` is held back in `next_day/`
and added for the incremental run. Everything else is hard-linked, not copied.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from orchestration.lib.raw_schema import RAW_TABLES

# The column whose UTC date says when a record of the family was exported (None: keep the file whole).
EXPORT_STAMP = {
    "contacts": "updated_at",
    "leads": "created_at",
    "activities": "occurred_at",
    "orders": "created_at",
    "refunds": "created_at",
    "products": None,
    "exchange_rates": "rate_date",
    "tickets": "updated_at",
    "csat": "created_at",
    "nps": "submitted_at",
}


@dataclass(frozen=True)
class Scale:
    name: str
    customers: int
    start: date = date(2023, 1, 1)
    end: date = date(2025, 12, 31)
    seed: int = 7


SCALES = {
    "sample": Scale("sample", 3_000),
    "10k": Scale("10k", 10_000),
    "100k": Scale("100k", 100_000),
    "1m": Scale("1m", 1_000_000),
}


def generate(scale: Scale, data_dir: Path) -> Path:
    """`python -m seeds.generate` into data_dir, unless a generation with the same arguments is complete."""
    if _is_complete(scale, data_dir):
        return data_dir
    if data_dir.exists():
        shutil.rmtree(data_dir)
    cmd = [
        sys.executable,
        "-m",
        "seeds.generate",
        "--customers",
        str(scale.customers),
        "--seed",
        str(scale.seed),
        "--start",
        scale.start.isoformat(),
        "--end",
        scale.end.isoformat(),
        "--out",
        str(data_dir),
    ]
    print("generating:", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True)
    if not _is_complete(scale, data_dir):
        raise RuntimeError(f"{data_dir}: the generator finished without truth/parameters.json")
    return data_dir


def _is_complete(scale: Scale, data_dir: Path) -> bool:
    """The generator writes truth/parameters.json last, with the arguments it ran with."""
    params = data_dir / "truth" / "parameters.json"
    if not params.exists():
        return False
    args = json.loads(params.read_text()).get("generator", {})
    wanted = {
        "customers": scale.customers,
        "seed": scale.seed,
        "start": scale.start.isoformat(),
        "end": scale.end.isoformat(),
        "period": "month",
        "clean": False,
    }
    return all(args.get(k) == v for k, v in wanted.items())


def stage_landing(data_dir: Path, landing: Path, next_day: Path, last_day: date) -> None:
    """Fill `landing` with every file but the last day's records, and `next_day` with those (same layout)."""
    for d in (landing, next_day):
        if d.exists():
            shutil.rmtree(d)
    month = last_day.strftime("%Y-%m")
    source_root = data_dir / "landing"
    for table in {(t.source, t.file_family, t.format) for t in RAW_TABLES}:
        source, family, fmt = table
        for path in sorted((source_root / source / family).glob(f"{family}_*")):
            rel = path.relative_to(source_root)
            target = landing / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            stamp = EXPORT_STAMP[family]
            if not path.name.startswith(f"{family}_{month}.") or stamp is None:
                os.link(path, target)
                continue
            head, body_a, body_b = _split_file(path, fmt, stamp, last_day)
            suffix = path.name[len(f"{family}_{month}") :]
            # Month-to-date keeps the month's label (the quality checks judge volume per day the label
            # covers); the held-back day is labelled as that day.
            _write(landing / rel.parent / f"{family}_{month}{suffix}", head, body_a)
            if body_b:
                _write(next_day / rel.parent / f"{family}_{last_day.isoformat()}{suffix}", head, body_b)


def add_next_day(landing: Path, next_day: Path) -> list[Path]:
    """Hard-link the held-back last-day files into the landing directory; returns what was added."""
    added = []
    for path in sorted(p for p in next_day.rglob("*") if p.is_file()):
        target = landing / path.relative_to(next_day)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.link(path, target)
            added.append(target)
    return added


def _split_file(path: Path, fmt: str, stamp: str, last_day: date) -> tuple[str, list[str], list[str]]:
    """(header, lines before the split, lines from it): split at the first record stamped on last_day."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.splitlines(keepends=True)
    if fmt == "jsonl":
        head = ""
        for i, line in enumerate(lines):
            if _on_or_after(json.loads(line).get(stamp), last_day):
                return head, lines[:i], lines[i:]
        return head, lines, []
    # CSV: map records to physical lines (a quoted field may span lines) through the reader's line count.
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    column = header.index(stamp)
    head, start_line = lines[0], reader.line_num
    for record in reader:
        if _on_or_after(record[column] if column < len(record) else None, last_day):
            return head, lines[1:start_line], lines[start_line:]
        start_line = reader.line_num
    return head, lines[1:], []


def _on_or_after(value: str | None, day: date) -> bool:
    if not value:
        return False
    try:
        if len(value) == 10:
            return date.fromisoformat(value) >= day
        return datetime.fromisoformat(value).astimezone(UTC).date() >= day
    except ValueError:  # the generator's deliberately malformed dates
        return False


def _write(path: Path, head: str, body: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (head + "".join(body)).encode()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
    else:
        path.write_bytes(data)
