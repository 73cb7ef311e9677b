"""Data Docs that render offline.

Great Expectations' page templates link Bootstrap, jQuery, Font Awesome, bootstrap-table and Vega from public
CDNs and the navbar logo from an S3 bucket (with the data context id in its query string): opened without a
network the site renders unstyled, and opened with one it reports each page view. The files are shipped in
`expectations/data_docs_vendor/` (`assets.json` says which npm package version each came from). After every
Data Docs build the site gets a copy under `static/vendor/`, and the pages written by that build link to it
by relative paths, so `index.html` works from disk, from a file share or from any static web server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from orchestration.settings import PROJECT_ROOT

VENDOR_DIR = PROJECT_ROOT / "expectations" / "data_docs_vendor"
_LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/([\w.-]+)(\?[^\"')\s]*)?"
)
# Subresource integrity and CORS mode make a browser refuse a script read from file://.
_SRI = re.compile(r'\s+(integrity="[^"]*"|crossorigin="anonymous")')


def cdn_assets() -> dict[str, str]:
    """CDN URL -> file under VENDOR_DIR."""
    manifest = json.loads((VENDOR_DIR / "assets.json").read_text())
    return {entry["url"]: entry["file"] for entry in manifest["assets"]}


def _relative(target: Path, page: Path) -> str:
    return Path(os.path.relpath(target, page.parent)).as_posix()


def localise(text: str, page: Path, site: Path, assets: dict[str, str]) -> str:
    """`text` of `page` (an HTML page or stylesheet of `site`), every CDN link pointing into the site."""
    for url, file in assets.items():
        text = text.replace(f'"{url}"', f'"{_relative(site / "static" / "vendor" / file, page)}"')
    images = site / "static" / "images"

    def logo(match: re.Match) -> str:
        name = match.group(1) if (images / match.group(1)).is_file() else "logo-long.png"
        return _relative(images / name, page)

    text = _LOGO.sub(logo, text)
    return _SRI.sub("", text)


def make_offline(site: Path, written_since_ns: int) -> list[Path]:
    """Ship the vendored files with `site` and relink the pages and stylesheets written since the given time.

    Only files the last build wrote are read (a site keeps every past validation page); returns them.
    """
    shutil.copytree(VENDOR_DIR, site / "static" / "vendor", dirs_exist_ok=True)
    assets = cdn_assets()
    changed = []
    for path in _written(site, written_since_ns):
        text = path.read_text(encoding="utf-8")
        offline = localise(text, path, site, assets)
        if offline != text:
            path.write_text(offline, encoding="utf-8")
            changed.append(path)
    return changed


def _written(site: Path, since_ns: int) -> Iterable[Path]:
    for pattern in ("*.html", "static/styles/*.css"):
        for path in site.glob(pattern) if pattern.startswith("static") else site.rglob(pattern):
            if path.stat().st_mtime_ns >= since_ns:
                yield path
