"""The serving DuckDB file is written in an old storage format so DuckDB 1.x readers (BI drivers) open it.

A DuckDB file starts with a main header: 8 bytes checksum, the magic `DUCK`, then the storage version as a
little-endian uint64. DuckDB 0.10 to 1.1 write and read version 64 ("v1.0.0"); 1.2 writes 65, 1.3 66,
1.4 67, 1.5 68, 2.0 999. A reader can open a file whose number it knows, so 64 is readable by every
DuckDB from 0.10.0 on (checked by hand with duckdb 1.1.3, see docs/bi_connections.md).
"""

from __future__ import annotations

import struct
from pathlib import Path

# ATTACH ... (STORAGE_VERSION '<this>') makes DuckDB 2.x write the format below.
SERVING_STORAGE_VERSION = "v1.0.0"
SERVING_STORAGE_NUMBER = 64
MAGIC = b"DUCK"


def storage_number(path: Path) -> int:
    """The storage version number in a DuckDB file's main header."""
    with open(path, "rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[8:12] != MAGIC:
        raise ValueError(f"{path} is not a DuckDB database file (no DUCK magic at byte 8)")
    return struct.unpack("<Q", header[12:20])[0]
