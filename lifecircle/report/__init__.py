"""The printable report of a run: ``report.html`` (A4, Chinese by default) and ``report.pdf``.

``write_report(out_dir)`` reads the output folder as the maps do (scorecard.json, coverage.gpkg,
parks.csv, facilities.csv, figures/) and computes nothing: every number is the run's.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from importlib.resources import files
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from lifecircle.maps.folder import read_folder
from lifecircle.maps.labels import check_lang
from lifecircle.output import atomic_file
from lifecircle.report.content import context
from lifecircle.report.pdf import Printer, chromium_missing

__all__ = ["write_report"]

TEMPLATES = files("lifecircle.report") / "templates"


def write_report(out_dir: str | Path, lang: str = "zh", *, pdf: bool = True,
                 printer: Printer | None = None) -> tuple[Path, Path | None]:
    """Write ``report.html`` and ``report.pdf`` into a run's output folder.

    The report holds the study area, the data sources and their completeness, the scorecard of
    plan targets (value, target, gap, plan and clause, status), the figures (written first when
    ``figures/`` is missing), the park figures with one row per park, the over-capacity
    catchments, and the OpenStreetMap and population credits. Images are linked relative to the
    folder, so the HTML stays small and the folder can be moved as a whole.

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
        about 1.5 s to start: a run can start it before writing its other files) and closes;
        by default one is started here.

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
    missing = chromium_missing() if pdf and printer is None else None
    if missing:
        warnings.warn(f"report.pdf not written: {missing}; report.html is", stacklevel=2)
    figures = sorted((out / "figures").glob("*.png"))
    drawing = None
    if not figures and folder.layers:
        from lifecircle.maps.figures import start_figures

        drawing = start_figures(out, lang)  # forks its workers now, before Chromium's thread
    # Chromium starts (about 1.5 s) while the figures are drawn and the page is written
    own = Printer() if pdf and printer is None and not missing else None
    with drawing or nullcontext(), own or nullcontext():
        printer = (printer or own) if pdf else None
        if drawing is not None:
            figures = drawing.result()
        env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                          autoescape=select_autoescape(["html", "j2"]))
        page = env.get_template("report.html.j2").render(
            css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
            **context(folder, lang, [f.relative_to(out) for f in figures]))
        html = atomic_file(out / "report.html",
                           lambda tmp: tmp.write_text(page, encoding="utf-8"))
        return html, None if printer is None else printer.print(html, out / "report.pdf")
