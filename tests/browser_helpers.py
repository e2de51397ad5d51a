"""Opening an output page in headless Chromium (Debian's, through playwright), recording every
request and console error: one helper for the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class OpenedPage:
    """A loaded page and what it asked for and complained about."""

    page: object
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def outside_requests(self) -> list[str]:
        """Requests that left the file (an offline page makes none)."""
        return [u for u in self.requests if not u.startswith(("file://", "data:"))]


def count_layers_js(registry: str) -> str:
    """JavaScript counting the markers and paths of each group of ``window.lifecircle[registry]``
    (``layers``: the analysis; ``base``: the basemap), and whether the group is shown."""
    return f"""() => {{
  const out = {{}};
  for (const [id, group] of Object.entries(window.lifecircle.{registry})) {{
    let markers = 0, paths = 0;
    const walk = (layer) => {{
      if (layer instanceof L.LayerGroup) layer.eachLayer(walk);
      else if (layer instanceof L.Marker) markers += 1;
      else if (layer instanceof L.Path) paths += 1;
    }};
    walk(group);
    out[id] = {{markers, paths, shown: window.lifecircle.map.hasLayer(group)}};
  }}
  return out;
}}"""


@contextmanager
def opened(html: Path, width: int = 1280, height: int = 900) -> Iterator[OpenedPage]:
    """The page of ``html`` loaded in headless Chromium, its Leaflet map ready (skips with the
    reason when Chromium or playwright is missing)."""
    from lifecircle.maps.screenshot import CHROMIUM, launch_chromium

    if not CHROMIUM.exists():
        pytest.skip(f"headless Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": width, "height": height})
        state = OpenedPage(page)
        page.on("request", lambda r: state.requests.append(r.url))
        page.on("console", lambda m: state.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: state.errors.append(str(exc)))
        page.goto(html.resolve().as_uri(), wait_until="load")
        page.wait_for_function("() => window.lifecircle && window.lifecircle.map._loaded")
        try:
            yield state
        finally:
            browser.close()
