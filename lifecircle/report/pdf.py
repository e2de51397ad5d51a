"""report.html to report.pdf through headless Chromium's print (Python playwright, the system's
browser, launched as ``lifecircle.maps.screenshot`` does). Chromium embeds the fonts it used."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lifecircle.maps.screenshot import CHROMIUM, launch_chromium
from lifecircle.output import atomic_file


def chromium_missing() -> str | None:
    """Why a PDF cannot be printed here (None when playwright and Chromium are both present)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
    return None


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
    # playwright's sync API refuses to run inside an asyncio loop (Jupyter): use a worker thread.
    with ThreadPoolExecutor(max_workers=1) as worker:
        data = worker.submit(_print, Path(html).resolve()).result()
    return atomic_file(Path(pdf), lambda tmp: tmp.write_bytes(data))


def _print(html: Path) -> bytes:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            page.goto(html.as_uri(), wait_until="load")
            page.evaluate("() => document.fonts.ready.then(() => true)")
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
