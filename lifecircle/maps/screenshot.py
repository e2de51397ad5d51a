"""PNG pictures of map.html through headless Chromium (Python playwright, the system's browser)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from lifecircle.errors import InputError
from lifecircle.output import atomic_file, check_output_file

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

#: The system Chromium (Debian's ``chromium`` package); playwright's own download is never used.
CHROMIUM = Path("/usr/bin/chromium")
#: Debian's ``chromium-headless-shell``: the same engine and version without the browser around
#: it (playwright's own choice for headless runs). Printing a one-line page from the command
#: line: 0.3 s and 0.2 CPU s against the browser's 1.5 s and 1.3 CPU s (measured here).
HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")

#: Flags for a quiet, offline-friendly headless browser.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch_chromium(playwright: Playwright, executable: Path = CHROMIUM) -> Browser:
    """Launch the system Chromium with ``CHROMIUM_ARGS`` from a started playwright.

    Parameters
    ----------
    playwright : playwright.sync_api.Playwright
        From ``sync_playwright().start()`` or its context manager.
    executable : Path
        ``CHROMIUM`` (default) or ``HEADLESS_SHELL``.

    Returns
    -------
    playwright.sync_api.Browser

    Raises
    ------
    InputError
        When ``executable`` is missing.
    """
    if not executable.exists():
        raise InputError(executable, "Chromium not found (Debian: apt-get install chromium)")
    return playwright.chromium.launch(executable_path=str(executable), args=list(CHROMIUM_ARGS))


def screenshot(html: str | Path, png: str | Path, width: int = 1280, height: int = 900) -> Path:
    """Render a local HTML file (e.g. ``map.html``) in headless Chromium and save a PNG.

    Waits for the page to load and, for lifecircle maps, for Leaflet to finish drawing.

    Parameters
    ----------
    html : str or Path
        The page, opened as a ``file://`` URL.
    png : str or Path
        Where to write the picture (atomically).
    width, height : int
        Viewport in CSS pixels.

    Returns
    -------
    Path
        ``png``.

    Raises
    ------
    InputError
        When the page is missing, playwright is not installed or Chromium is missing.
    """
    html, png = Path(html).resolve(), check_output_file(png)
    if not html.is_file():
        raise InputError(html, "file not found")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise InputError("playwright", "not installed (pip install playwright; the browser "
                                       "itself is /usr/bin/chromium)") from None
    # playwright's sync API refuses to run where an asyncio loop runs (Jupyter) or inside another
    # sync session: a worker thread has neither.
    with ThreadPoolExecutor(max_workers=1) as worker:
        image = worker.submit(_shoot, html, width, height).result()
    return atomic_file(png, lambda tmp: tmp.write_bytes(image))


def _shoot(html: Path, width: int, height: int) -> bytes:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(html.as_uri(), wait_until="load")
            page.wait_for_function("() => !window.lifecircle || window.lifecircle.map._loaded")
            page.wait_for_timeout(300)  # let Leaflet finish its zoom animation
            return page.screenshot(type="png")
        finally:
            browser.close()
