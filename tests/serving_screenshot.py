"""Screenshots of the report in headless Chromium, and a small PNG decoder to check pixels (no Pillow)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def chromium_screenshot(url: str, png: Path, width: int, height: int, *extra: str) -> Path:
    """Headless Chromium with no network side-traffic and a throw-away profile: `url` -> `png`."""
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={width},{height}",
             *extra, url],
            capture_output=True, timeout=120, check=True,
        )  # fmt: skip
    return png


def screenshot(html: Path, name: str, height: int) -> np.ndarray:
    """Render `html` 1400 px wide in headless Chromium offline; keep PNG and HTML under tests/artifacts/."""
    png = chromium_screenshot(
        html.resolve().as_uri(), ARTIFACTS / f"{name}.png", 1400, height, "--hide-scrollbars"
    )
    shutil.copyfile(html, ARTIFACTS / f"{name}.html")
    return png_rgb(png)


def pixels(image: np.ndarray, rgb: tuple[int, int, int]) -> int:
    """How many pixels have exactly this colour."""
    return int((image == np.array(rgb, dtype=np.uint8)).all(axis=2).sum())


def png_rgb(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB(A) PNG as Chromium writes it to an (h, w, 3) array: zlib and the 5 row filters."""
    data, pos, idat = path.read_bytes(), 8, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(h):
        kind, row = raw[y * (stride + 1)], np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1)
        if kind == 0:
            cur = row.copy()
        elif kind == 1:
            cur = (np.cumsum(row.reshape(w, bpp).astype(np.int64), axis=0) % 256).astype(np.uint8).ravel()
        elif kind == 2:
            cur = row + prev
        else:  # Average and Paeth depend on the pixel to the left: byte by byte
            cur_l, up = bytearray(row.tobytes()), prev.tobytes()
            for i in range(stride):
                a = cur_l[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    cur_l[i] = (cur_l[i] + ((a + b) >> 1)) & 255
                else:
                    c = up[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    cur_l[i] = (cur_l[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            cur = np.frombuffer(bytes(cur_l), np.uint8)
        out[y], prev = cur, cur
    return out.reshape(h, w, bpp)[:, :, :3]
