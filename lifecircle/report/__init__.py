"""The printable report of a run: ``report.html`` (A4, Chinese by default) and ``report.pdf``.

``write_report(out_dir)`` reads the output folder as the maps do (scorecard.json, coverage.gpkg,
parks.csv, facilities.csv, figures/) and computes nothing: every number is the run's.
"""

from __future__ import annotations

import tempfile
import warnings
from contextlib import ExitStack
from importlib.resources import files
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape

from lifecircle.coverage.parallel import in_threads
from lifecircle.maps.folder import OutputFolder, read_folder
from lifecircle.maps.labels import check_lang
from lifecircle.maps.png import write_print_jpeg
from lifecircle.output import atomic_file
from lifecircle.report.content import context
from lifecircle.report.pdf import Printer, can_print, chromium_missing

__all__ = ["can_print", "start_printer", "write_report"]

TEMPLATES = files("lifecircle.report") / "templates"


def start_printer() -> Printer | None:
    """Start headless Chromium to print report.pdf (:class:`~lifecircle.report.pdf.Printer`),
    or, when playwright or Chromium is missing, warn in one line why no PDF will be written and
    return None."""
    missing = chromium_missing()
    if missing:
        warnings.warn(f"report.pdf not written: {missing}; report.html is", stacklevel=2)
        return None
    return Printer()


def write_report(out_dir: str | Path, lang: str = "zh", *, pdf: bool = True,
                 printer: Printer | None = None, draw_figures: bool = True,
                 print_copies: Path | None = None) -> tuple[Path, Path | None]:
    """Write ``report.html`` and ``report.pdf`` into a run's output folder.

    The report holds the study area, the data sources and their completeness, the scorecard of
    plan targets (value, target, gap, plan and clause, status), the figures (written first when
    ``figures/`` is missing), the park figures with one row per park, the over-capacity
    catchments, and the OpenStreetMap and population credits. Images are linked relative to the
    folder, so the HTML stays small and the folder can be moved as a whole. Without figures
    (``draw_figures=False`` and no ``figures/``) the report holds the numbers and says that the
    maps are in map.html.

    Parameters
    ----------
    out_dir : str or Path
        A folder written by ``lifecircle run``.
    lang : str
        ``"zh"`` (default) or ``"en"``.
    pdf : bool
        Also print ``report.pdf`` with headless Chromium. When playwright or Chromium is
        missing, only the HTML is written and one warning line says why.
    printer : Printer, optional
        A :class:`lifecircle.report.pdf.Printer` the caller started earlier (Chromium takes
        0.6-1.5 s to start: a run can start it before writing its other files) and closes;
        by default one is started here.
    draw_figures : bool
        Draw the figures first when ``figures/`` has none (default). ``lifecircle run
        --no-figures`` passes False: no figure is drawn that was not asked for.
    print_copies : Path, optional
        A folder with the JPEG copies report.pdf prints, made while the figures were drawn
        (:func:`~lifecircle.maps.figures.start_figures`); those missing are made here.

    Returns
    -------
    (Path, Path or None)
        ``report.html`` and ``report.pdf`` (None when no PDF was printed).

    Raises
    ------
    InputError
        When the folder is not an output folder or ``lang`` is unknown.
    """
    lang = check_lang(lang)
    out = Path(out_dir)
    folder = read_folder(out)
    figures = sorted((out / "figures").glob("*.png"))
    with ExitStack() as started:  # each one closed from when it starts (Ctrl-C)
        drawing = own = None
        if draw_figures and not figures and folder.layers:
            from lifecircle.maps.figures import start_figures

            if pdf and print_copies is None and can_print():  # the JPEGs report.pdf prints
                print_copies = Path(started.enter_context(tempfile.TemporaryDirectory(
                    prefix="lifecircle-print-")))
            # forks its workers now, before Chromium's thread
            drawing = started.enter_context(start_figures(out, lang, print_copies=print_copies))
        # Chromium starts (0.6-1.5 s) while the figures are drawn and the page is written
        if pdf and printer is None and (own := start_printer()) is not None:
            started.enter_context(own)
        printer = (printer or own) if pdf else None
        if drawing is not None:
            figures = drawing.result()
        page = _page(folder, lang, [f.relative_to(out) for f in figures])
        html = atomic_file(out / "report.html",
                           lambda tmp: tmp.write_text(page, encoding="utf-8"))
        if printer is None:
            return html, None
        with tempfile.TemporaryDirectory(prefix="lifecircle-print-") as tmp:
            # the same page over JPEG copies of the figures: Chromium embeds a JPEG as it is
            # but deflates a PNG's pixels again (central Chengdu's 11 figures: 2.3 -> 1.2 s)
            printed = Path(tmp) / "report.html"
            jpegs = _jpeg_copies(figures, Path(tmp), print_copies)
            printed.write_text(_page(folder, lang, jpegs), encoding="utf-8")
            return html, printer.print(printed, out / "report.pdf")


def _jpeg_copies(pngs: list[Path], folder: Path, made: Path | None = None) -> list[Path]:
    """JPEG copies of PNG figures in ``folder`` (same names, ``.jpg``; those already in
    ``made`` are taken from there), encoded in threads (Pillow releases the GIL while it
    decodes and encodes)."""
    from PIL import Image

    def copy(png: Path) -> Path:
        jpeg = folder / f"{png.stem}.jpg"
        if made is not None and (made / jpeg.name).is_file():
            return made / jpeg.name
        with Image.open(png) as image:
            return write_print_jpeg(jpeg, np.asarray(image.convert("RGB")))

    return in_threads(copy, pngs)


def _page(folder: OutputFolder, lang: str, figures: list[Path]) -> str:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("report.html.j2").render(
        css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
        **context(folder, lang, figures))
