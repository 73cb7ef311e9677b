"""Data Docs render styled from disk with no network: every CDN file GX's templates name is shipped with the
site, pages link to it by relative paths, and headless Chromium (network side-traffic off) shows the styled
index with its validation table filled in by the vendored JavaScript."""

from __future__ import annotations

import re
from pathlib import Path

import great_expectations
import pytest
from serving_screenshot import ARTIFACTS, CHROMIUM, chromium_screenshot, pixels, png_rgb

from orchestration.lib.quality.data_docs_offline import VENDOR_DIR, cdn_assets
from orchestration.settings import Settings

TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
# A stylesheet, script or image loaded from the network (links a reader clicks are fine).
REMOTE = re.compile(
    r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["'](https?:[^"']+)|url\(['"]?(https?:[^'")]+)"""
)
GREEN, GREY, BLUE = (40, 167, 69), (108, 117, 125), (0, 123, 255)  # Bootstrap 4 success, secondary, primary


def test_every_cdn_file_in_the_gx_templates_is_vendored() -> None:
    named = {m.group(1) for p in TEMPLATES.glob("*.j2") for m in REMOTE.finditer(p.read_text()) if m.group(1)}
    named = {url for url in named if "great-expectations-web-assets" not in url}  # the logo: GX ships it
    assert named, "no CDN link found: has GX changed its templates?"
    assets = cdn_assets()
    assert named <= set(assets), f"CDN files not vendored: {sorted(named - set(assets))}"
    assert all((VENDOR_DIR / file).is_file() for file in assets.values())


def test_the_built_site_loads_nothing_from_the_network(built_warehouse: Settings) -> None:
    site = Path(built_warehouse.reports_dir) / "data_docs"
    pages = [*site.rglob("*.html"), *site.glob("static/styles/*.css")]
    assert len(pages) > 10
    remote = {
        (p.relative_to(site).as_posix(), m.group(0)[:120])
        for p in pages
        for m in REMOTE.finditer(p.read_text())
    }
    assert not remote, sorted(remote)[:5]
    assert (site / "static" / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2").is_file()


def test_the_index_renders_styled_offline(built_warehouse: Settings) -> None:
    if not CHROMIUM:
        pytest.skip("no /usr/bin/chromium (Debian package chromium): Data Docs screenshot not taken")
    index = Path(built_warehouse.reports_dir) / "data_docs" / "index.html"
    shot = chromium_screenshot(
        index.as_uri(), ARTIFACTS / "data_docs_offline.png", 1400, 900, "--virtual-time-budget=5000"
    )
    image = png_rgb(shot)
    # Unstyled, the page is black text on white: these colours come from Bootstrap's CSS (the grey "Clear
    # Filters" button, blue links) and Font Awesome's green check icons in the table bootstrap-table fills in.
    assert pixels(image, GREY) > 1000, "no Bootstrap button: the CSS did not load"
    assert pixels(image, BLUE) > 200, "no Bootstrap link colour"
    assert pixels(image, GREEN) > 200, "no status icons: the validation table was not rendered"
