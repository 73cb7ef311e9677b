"""Vectorised text formatting: ids, fixed-point numbers, ISO timestamps, CSV and JSON lines.

Everything is built with pyarrow compute kernels on whole columns (no Python loop per row), and
every number is formatted from integers, so the bytes never depend on float printing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Strings = pa.Array | pa.ChunkedArray


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """`prefix` + zero-padded number, e.g. ids("C", [7], 7) -> "C0000007"."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def integers(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Integers as text; `mask` True marks nulls."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64), mask=mask), pa.string())


def fixed(scaled: np.ndarray, decimals: int, mask: np.ndarray | None = None) -> pa.Array:
    """Fixed-point text of an integer array holding value * 10**decimals (e.g. cents -> "12.05")."""
    scaled = np.asarray(scaled, dtype=np.int64)
    unit = 10**decimals
    whole = pc.cast(pa.array(np.abs(scaled) // unit), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(np.abs(scaled) % unit), pa.string()), decimals, "0")
    out = pc.binary_join_element_wise(choose(("", "-"), scaled < 0), whole, ".", frac, "")
    return out if mask is None else pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), out)


def decimal_text(values: np.ndarray, decimals: int) -> pa.Array:
    """Round floats to `decimals` places and format them as fixed-point text."""
    return fixed(np.round(np.asarray(values, dtype=np.float64) * 10**decimals).astype(np.int64), decimals)


def booleans(values: np.ndarray) -> pa.Array:
    return choose(("false", "true"), np.asarray(values, dtype=bool))


def offset_suffix(offset_min: int) -> str:
    if offset_min == 0:
        return "Z"
    sign = "-" if offset_min < 0 else "+"
    return f"{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"


MIN_OFFSET, MAX_OFFSET = -12 * 60, 14 * 60  # UTC offsets that exist, in minutes
OFFSET_SUFFIXES = pa.array([offset_suffix(m) for m in range(MIN_OFFSET, MAX_OFFSET + 1)], pa.string())


def timestamps(epoch_s: np.ndarray, offset_min: np.ndarray | None = None, mask: np.ndarray | None = None):
    """ISO-8601 text of UTC epoch seconds, written in the local time of `offset_min` with its offset.

    Offset 0 is written with a `Z`; any other offset as `+HH:MM`/`-HH:MM`, the same instant.
    """
    epoch_s = np.asarray(epoch_s, dtype=np.int64)
    if offset_min is None:
        offset_min = np.zeros(len(epoch_s), dtype=np.int64)
    offset_min = np.asarray(offset_min, dtype=np.int64)
    local = pa.array(epoch_s + offset_min * 60).cast(pa.timestamp("s"))
    body = pc.replace_substring(pc.cast(local, pa.string()), " ", "T", max_replacements=1)
    suffix = OFFSET_SUFFIXES.take(pa.array(offset_min - MIN_OFFSET))
    out = pc.binary_join_element_wise(body, suffix, "")
    return out if mask is None else where(~np.asarray(mask, dtype=bool), out)


def dates(epoch_s: np.ndarray) -> pa.Array:
    days = (np.asarray(epoch_s, dtype=np.int64) // 86400).astype(np.int32)
    return pc.cast(pa.array(days, pa.date32()), pa.string())


def choose(values: Sequence[str], index: np.ndarray) -> pa.Array:
    """`values[index]` as a flat string array (no numpy unicode arrays: slow, and chunked when large)."""
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def where(valid: np.ndarray, values: Strings) -> pa.Array:
    """`values` where `valid`, null elsewhere."""
    return pc.if_else(pa.array(np.asarray(valid, dtype=bool)), values, pa.scalar(None, pa.string()))


def take(values: Strings | np.ndarray, index: np.ndarray) -> pa.Array:
    if isinstance(values, np.ndarray):
        return pa.array(values[index])
    return pc.take(values, pa.array(index))


def csv_lines(columns: list[Strings]) -> pa.Array:
    """One CSV line per row; nulls become empty fields. Values never hold commas, quotes or newlines."""
    return pc.binary_join_element_wise(*columns, ",", null_handling="replace", null_replacement="")


def json_string(values: Strings) -> pa.Array:
    """JSON string literal, or `null`. Values never hold quotes, backslashes or control characters."""
    quoted = pc.binary_join_element_wise('"', values, '"', "", null_handling="emit_null")
    return pc.fill_null(quoted, "null")


def json_raw(values: Strings) -> pa.Array:
    """A JSON number/boolean already formatted as text, or `null`."""
    return pc.fill_null(values, "null")


def json_objects(fields: list[tuple[str, Strings]]) -> pa.Array:
    """One JSON object per row from (key, already-encoded JSON value) pairs, in the given key order."""
    parts: list = []
    for i, (key, value) in enumerate(fields):
        parts.append(("{" if i == 0 else ",") + f'"{key}":')
        parts.append(value)
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def joined_lists(items: Strings, offsets: np.ndarray) -> pa.Array:
    """`[a,b,...]` per group: `items` grouped by `offsets` (len = groups + 1) joined with commas."""
    lists = pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32)), items)
    return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")


def text_bytes(lines: Strings) -> bytes:
    """All lines, each followed by a newline, as one bytes object (no per-row Python objects)."""
    with_newline = pc.binary_join_element_wise(lines, "\n", "")
    if isinstance(with_newline, pa.ChunkedArray):
        with_newline = with_newline.combine_chunks()
    if len(with_newline) == 0:
        return b""
    with_newline = with_newline.cast(pa.large_string())
    offsets = np.frombuffer(with_newline.buffers()[1], dtype=np.int64)
    first = offsets[with_newline.offset]
    last = offsets[with_newline.offset + len(with_newline)]
    return with_newline.buffers()[2].slice(int(first), int(last - first)).to_pybytes()
