"""report.html to report.pdf through headless Chromium's print (Python playwright, the system's
Chromium, launched as ``lifecircle.maps.screenshot`` does). Chromium embeds the fonts it used.

Debian's ``chromium-headless-shell`` prints when it is installed: the same engine and version
as ``chromium`` without the browser around it, so the same PDF (tests compare the two) for about
half the CPU (central Chengdu's report: start 1.1-1.4 -> 0.6-0.8 s, print 1.1-1.3 -> 0.6 s,
Chromium's CPU 2.0-2.2 -> 1.1-1.2 s). Starting playwright and Chromium takes 0.5-1.5 s before
anything is printed (with the headless shell 0.66-0.83 -> 0.49-0.60 s once playwright's driver
reads its compiled JavaScript from the cache, :func:`~lifecircle.maps.screenshot.
start_playwright`); a :class:`Printer` starts them on its own thread as soon as it is made, so
the caller can draw the figures and write the page meanwhile.
"""

from __future__ import annotations

import importlib.util
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lifecircle.maps.screenshot import CHROMIUM, HEADLESS_SHELL, launch_chromium, start_playwright
from lifecircle.output import atomic_file


def printing_chromium() -> Path | None:
    """The Chromium that prints: ``HEADLESS_SHELL`` when installed, else ``CHROMIUM``; None
    when neither is.

    Examples
    --------
    >>> printing_chromium() in (HEADLESS_SHELL, CHROMIUM, None)
    True
    """
    return next((path for path in (HEADLESS_SHELL, CHROMIUM) if path.exists()), None)


def chromium_missing() -> str | None:
    """Why a PDF cannot be printed here (None when playwright and a Chromium are present)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if printing_chromium() is None:
        return f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
    return None


def can_print() -> bool:
    """Whether playwright and Chromium look present, without importing playwright (0.4 s):
    :func:`chromium_missing` says for sure.

    Examples
    --------
    >>> can_print() == (chromium_missing() is None)
    True
    """
    return importlib.util.find_spec("playwright") is not None and printing_chromium() is not None


class Printer:
    """Headless Chromium ready to print local pages to A4 PDFs, started in the background.

    playwright's sync API refuses to run inside an asyncio loop (Jupyter) and its objects
    belong to the thread that made them: everything runs on one worker thread. Use it as a
    context manager (or call :meth:`close`) so the browser is closed.

    Examples
    --------
    >>> import tempfile
    >>> def first_bytes() -> bytes:
    ...     with tempfile.TemporaryDirectory() as tmp, Printer() as printer:
    ...         page = Path(tmp) / "page.html"  # written while Chromium starts
    ...         _ = page.write_text("<h1>公园绿地服务半径覆盖率</h1>", encoding="utf-8")
    ...         return printer.print(page, Path(tmp) / "page.pdf").read_bytes()[:5]
    >>> chromium_missing() is not None or first_bytes() == b"%PDF-"  # where Chromium is
    True
    """

    def __init__(self) -> None:
        # imported on the caller's thread: a process forked while the worker thread imports
        # would inherit that module's import lock held
        import playwright.sync_api  # noqa: F401

        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lifecircle-pdf")
        self._parts: dict[str, Any] = {}
        self._started: Future = self._worker.submit(self._start)

    def _start(self) -> None:
        self._parts["playwright"] = playwright = start_playwright()
        self._parts["browser"] = browser = launch_chromium(playwright, printing_chromium()
                                                           or CHROMIUM)
        self._parts["page"] = browser.new_page()  # the first page is made while starting

    def print(self, html: str | Path, pdf: str | Path) -> Path:
        """Print a local HTML page (opened as a ``file://`` URL so relative images resolve) to
        ``pdf``, written atomically; the page's ``@page`` rules decide size and margins."""
        self._started.result()  # a failed start is raised here
        data = self._worker.submit(self._print, Path(html).resolve()).result()
        return atomic_file(Path(pdf), lambda tmp: tmp.write_bytes(data))

    def _print(self, html: Path) -> bytes:
        page = self._parts.pop("page", None) or self._parts["browser"].new_page()
        try:
            page.goto(html.as_uri(), wait_until="load")
            page.evaluate("() => document.fonts.ready.then(() => true)")
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            page.close()

    def close(self) -> None:
        """Close the browser and stop playwright (waits for a start still under way)."""
        self._worker.submit(self._stop).result()
        self._worker.shutdown(wait=True)

    def _stop(self) -> None:
        browser, playwright = self._parts.pop("browser", None), self._parts.pop("playwright",
                                                                               None)
        try:
            if browser is not None:
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def print_pdf(html: Path, pdf: Path) -> Path:
    """Print a local HTML page to an A4 PDF (the page's ``@page`` rules decide size and margins).

    Parameters
    ----------
    html : Path
        The page, opened as a ``file://`` URL so relative images resolve.
    pdf : Path
        Where to write the PDF (atomically).

    Returns
    -------
    Path
        ``pdf``.
    """
    with Printer() as printer:
        return printer.print(html, pdf)
