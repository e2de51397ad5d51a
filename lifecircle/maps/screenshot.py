"""PNG pictures of map.html through headless Chromium (Python playwright, the system's browser)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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


def start_playwright() -> Playwright:
    """Start playwright (its driver, a Node process) with Node's compile cache in lifecircle's
    cache folder (:func:`driver_compile_cache`); stop it with ``.stop()``.

    Examples
    --------
    >>> import importlib.util, os
    >>> if importlib.util.find_spec("playwright") is not None:
    ...     start_playwright().stop()
    >>> "NODE_COMPILE_CACHE" in os.environ  # set only while the driver was spawned
    False
    """
    from playwright.sync_api import sync_playwright

    with driver_compile_cache():
        return sync_playwright().start()


#: where Node keeps the compiled JavaScript of playwright's driver between runs, under the
#: user's cache folder (``$XDG_CACHE_HOME``, else ``~/.cache``), as matplotlib keeps its font list
NODE_CACHE = Path("lifecircle", "node-compile-cache")


@contextmanager
def driver_compile_cache() -> Iterator[Path | None]:
    """While playwright's driver is spawned: ``NODE_COMPILE_CACHE`` names a folder under the
    user's cache (:data:`NODE_CACHE`), so Node reads the driver's JavaScript compiled by an
    earlier run instead of compiling its 14 MB again (its start: 0.39-0.57 -> 0.30-0.39 s wall,
    0.50-0.61 -> 0.41-0.49 CPU s, measured here). The variable is set only for the spawn and
    only when the caller has not set it (their own choice, or ``NODE_DISABLE_COMPILE_CACHE``,
    stands); nothing is set when the folder cannot be made (a read-only home).

    Yields
    ------
    Path or None
        The cache folder used, None when none is set here.

    Examples
    --------
    >>> with driver_compile_cache() as folder:
    ...     folder is None or os.environ["NODE_COMPILE_CACHE"] == str(folder)
    True
    """
    if "NODE_COMPILE_CACHE" in os.environ:
        yield None
        return
    try:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / NODE_CACHE
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
        yield None
        return
    os.environ["NODE_COMPILE_CACHE"] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop("NODE_COMPILE_CACHE", None)


def launch_chromium(playwright: Playwright, executable: Path = CHROMIUM) -> Browser:
    """Launch the system Chromium with ``CHROMIUM_ARGS`` from a started playwright.

    Parameters
    ----------
    playwright : playwright.sync_api.Playwright
        From :func:`start_playwright` (or ``sync_playwright()``).
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
    playwright = start_playwright()
    try:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(html.as_uri(), wait_until="load")
            page.wait_for_function("() => !window.lifecircle || window.lifecircle.map._loaded")
            page.wait_for_timeout(300)  # let Leaflet finish its zoom animation
            return page.screenshot(type="png")
        finally:
            browser.close()
    finally:
        playwright.stop()
