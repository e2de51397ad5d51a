"""Static PNG figures of a run's output folder, for reports (matplotlib, Agg canvas, no pyplot).

- ``figures/coverage_<kind>.png``: population cells by walking distance to the kind, threshold
  marked in the legend, the kind's facilities on top;
- ``figures/residential_uncovered.png``: residential land outside park service radii (when the
  folder has the residential layer);
- ``figures/metrics_targets.png``: the metrics as bars against the region's plan targets, one
  panel per unit (:mod:`lifecircle.maps.chart`).

Maps draw the folder's basemap layers (``base_*``: water, railways, streets by class) underneath
and are framed on the populated cells. Every map figure has the same frame and pixel grid, so
what they share is drawn once per run (:mod:`lifecircle.maps.raster`): the basemap as an image
of the whole figure, the population cells as a grid of cell rows per pixel that each kind's
figure colours by its distance classes. Facilities, outlines, legends and labels stay vector.
Work per figure is then proportional to its pixels, not to the city's streets and cells.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath

from lifecircle.forked import Pending, start_jobs
from lifecircle.maps.chart import metrics_chart
from lifecircle.maps.folder import OutputFolder, read_folder
from lifecircle.maps.fonts import figure_rc
from lifecircle.maps.labels import (
    OSM_CREDIT,
    check_lang,
    format_value,
    kind_label,
    metres,
    metric_label,
    text,
)
from lifecircle.maps.png import write_png, write_print_jpeg
from lifecircle.maps.raster import (
    Backdrop,
    CellBlend,
    PixelGrid,
    cell_rows,
    line_paths,
    polygon_paths,
    render_rgba,
    rgb,
)
from lifecircle.maps.styles import (
    COVERED_COLOUR,
    RAIL_COLOUR,
    STREET_STYLES,
    STUDY_AREA_COLOUR,
    UNCOVERED_COLOUR,
    WATER_COLOUR,
    WATER_LINE_COLOUR,
    DistanceClasses,
    kind_colour,
)

DPI = 150
MAP_SIZE_IN = (8.0, 8.0)
#: the layers the figures draw, each with the columns they read (regular expressions)
FIGURE_LAYERS = {"base_water": "", "base_rail": "", "base_streets": "class", "study_area": "",
                 "population": r"population|dist_.+", "residential": "covered",
                 "facilities": "kind"}


def write_figures(out_dir: str | Path, lang: str = "zh") -> list[Path]:
    """Write the static figures of an output folder into ``out_dir/figures/``.

    Parameters
    ----------
    out_dir : str or Path
        A folder written by ``lifecircle run``.
    lang : str
        ``"zh"`` (default) or ``"en"``. Chinese needs a CJK font (fonts-noto-cjk); without one
        the figures are labelled in English and a warning says so.

    Returns
    -------
    list of Path
        The PNG files written (each atomically), in the order listed in the module docstring.

    Raises
    ------
    InputError
        When the folder is not an output folder or ``lang`` is unknown.
    """
    return start_figures(out_dir, lang).result()


def start_figures(out_dir: str | Path, lang: str = "zh", *,
                  print_copies: Path | None = None) -> PendingFigures:
    """Start :func:`write_figures` and return while the figures are drawn: the folder is read
    and what the maps share is drawn here, then each figure is drawn and written by a forked
    worker (:mod:`lifecircle.forked`), so the caller can go on (e.g. write the map).
    ``print_copies``: a folder where each worker also writes its figure as the JPEG report.pdf
    prints (:func:`~lifecircle.maps.png.write_print_jpeg`), from the pixels it has.

    Returns
    -------
    PendingFigures
        ``.result()`` waits and gives the PNG files written, as :func:`write_figures` does.
        Used as a context manager, the workers are waited for when the block is left.

    Examples
    --------
    >>> import tempfile
    >>> from lifecircle import Study, run
    >>> from lifecircle.data import sample_path
    >>> from lifecircle.maps import write_map
    >>> study = Study.from_osm(sample_path(), residential_density=400, kinds=["primary_school"])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = run(study).to_folder(Path(tmp) / "out", figures=False)
    ...     pending = start_figures(out)  # the figures are drawn while the map is written
    ...     _ = write_map(out)
    ...     sorted(png.name for png in pending.result())
    ['coverage_primary_school.png', 'metrics_targets.png', 'residential_uncovered.png']
    """
    lang = check_lang(lang)
    folder = read_folder(out_dir, FIGURE_LAYERS)
    lang, rc = figure_rc(lang)
    target = Path(out_dir) / "figures"
    with matplotlib.rc_context(rc):
        maps = bool(folder.kinds) or "residential" in folder.layers
        shared = _Shared(folder) if maps else None
    jobs: list[tuple[Callable[[], Figure | None], Path, Path | None]] = [
        (partial(_coverage_figure, folder, kind, lang, shared),
         target / f"coverage_{kind}.png", print_copies) for kind in folder.kinds]
    if "residential" in folder.layers:
        jobs.append((partial(_residential_figure, folder, lang, shared),
                     target / "residential_uncovered.png", print_copies))
    jobs.append((partial(metrics_chart, folder.scorecard, folder.kinds, lang),
                 target / "metrics_targets.png", print_copies))
    # Each figure is its own Figure + Agg canvas (matplotlib's object API, no pyplot state),
    # sharing only read-only inputs (the basemap image, the cell rows), drawn in forked
    # workers that inherit them and the rcParams. The metrics chart, the slowest figure, goes
    # first so that the workers finish together.
    order = [len(jobs) - 1, *range(len(jobs) - 1)]
    return PendingFigures(start_jobs([partial(_draw_and_save, *jobs[i]) for i in order],
                               FIGURE_WORKERS, partial(matplotlib.rc_context, rc)), order)


class PendingFigures:
    """Figures being drawn (:func:`start_figures`)."""

    def __init__(self, started: Pending[Path | None], order: list[int]) -> None:
        self._started, self._order = started, order

    def result(self) -> list[Path]:
        """Wait; the PNG files written, in the order of the module docstring."""
        drawn = dict(zip(self._order, self._started.result(), strict=True))
        return [path for i in range(len(self._order)) if (path := drawn[i]) is not None]

    def __enter__(self) -> PendingFigures:
        return self

    def __exit__(self, *exc: object) -> None:
        self._started.__exit__(*exc)


#: processes drawing figures: the cores this process may use, at most 4 (assumption: a run has
#: about ten figures; beyond 4 workers each forks for two or three of them). With one core the
#: figures are drawn in this process, no worker is forked.
FIGURE_WORKERS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                         else os.cpu_count() or 1))


def _draw_and_save(make: Callable[[], Figure | None], path: Path, print_copies: Path | None
                   ) -> Path | None:
    fig = make()
    return None if fig is None else _save(fig, path, print_copies)


def _save(fig: Figure, path: Path, print_copies: Path | None = None) -> Path:
    """The figure as an RGB PNG at ``DPI`` (figures are opaque: an alpha channel is a quarter
    of the bytes to compress for nothing), encoded by :func:`lifecircle.maps.png.write_png`;
    and its JPEG for report.pdf in ``print_copies``."""
    fig.set_dpi(DPI)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    if print_copies is not None:
        write_print_jpeg(print_copies / f"{path.stem}.jpg", rgb)
    return write_png(path, rgb)


# -- maps ---------------------------------------------------------------------------------------

#: opacity of the population cells over the basemap (assumption: 0.72 keeps the streets underneath
#: legible under every distance colour)
CELL_ALPHA = 0.72
#: opacity of covered residential land (assumption, as CELL_ALPHA)
COVERED_ALPHA = 0.45


class _Shared:
    """What every map figure of a folder shows, drawn once: the frame, its pixel grid, the
    basemap as an RGB image of the whole figure, and per pixel the population cell's row.

    Each map figure is laid out exactly as the blank map drawn here (same size, DPI, margins,
    limits and equal aspect), so the image lies pixel for pixel under its axes.
    """

    def __init__(self, folder: OutputFolder) -> None:
        self.frame = _frame(folder)
        fig, ax = _blank_map(self.frame)
        self.grid = PixelGrid.of(ax)
        _Basemap(folder).draw(ax)
        self.base = render_rgba(fig)
        cells = folder.layers.get("population")
        rows = cell_rows(cells.geometry.values, self.grid) if cells is not None and folder.kinds \
            else np.full(self.base.shape[:2], -1, dtype=np.int32)
        #: the pixels with a cell (flat indices) and each one's cell row
        self.pixels = np.flatnonzero(rows >= 0)
        self.rows = rows.ravel()[self.pixels]
        self._cells_over = CellBlend(self.base, self.pixels, CELL_ALPHA)

    def cells(self, palette: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """The basemap image with each cell painted at ``CELL_ALPHA`` in the colour of its
        class (``palette``: RGB rows, 0..255; ``classes``: one per cell row)."""
        return self._cells_over(palette, classes[self.rows])


def _blank_map(frame: tuple[float, float, float, float]) -> tuple[Figure, Any]:
    """A map figure's layout: size, DPI, margins, equal aspect, the frame as limits."""
    fig = Figure(figsize=MAP_SIZE_IN, dpi=DPI)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.92)
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.set_axis_off()
    # an axis that is off draws nothing, yet the title's placement still lays out its tick
    # labels each time the figure is drawn; hidden, it is skipped (the same pixels)
    ax.xaxis.set_visible(False)
    ax.yaxis.set_visible(False)
    ax.set_xlim(frame[0], frame[2])
    ax.set_ylim(frame[1], frame[3])
    return fig, ax


def _map_axes(folder: OutputFolder, title: str, subtitle: str, lang: str,
              shared: _Shared, image: np.ndarray) -> tuple[Figure, Any]:
    """A map figure with ``image`` (the basemap and any raster layer) under its axes."""
    fig, ax = _blank_map(shared.frame)
    # under the axes (zorder < 0; the axes draw no background when their axis is off)
    fig.add_artist(Backdrop(image))
    name = (folder.scorecard.get("study_area") or {}).get("name")
    title = f"{name} · {title}" if name else title
    ax.set_title(f"{title}\n{subtitle}" if subtitle else title, fontsize=12, loc="left")
    fig.text(0.99, 0.005, f"{OSM_CREDIT} · {folder.population_credit(lang)}",
             ha="right", va="bottom", fontsize=7, color="#555555")
    return fig, ax


def _finish_map(folder: OutputFolder, ax: Any) -> None:
    if "study_area" in folder.layers:
        _draw(ax, folder.layers["study_area"].geometry, facecolor="none",
              edgecolor=STUDY_AREA_COLOUR, linewidth=1.2, linestyle="--")
    _scale_bar(ax)


def _frame(folder: OutputFolder) -> tuple[float, float, float, float]:
    """The populated cells' bounds, padded by 3 %: the figure shows where people live, not the
    basemap's whole extent. Without cells, the bounds of the drawn layers."""
    cells = folder.layers.get("population")
    if cells is None:
        drawn = [folder.layers[n].total_bounds for n in ("study_area", "residential", "facilities")
                 if n in folder.layers]
        box = np.array(drawn) if drawn else np.array([[0.0, 0.0, 1.0, 1.0]])
        x0, y0 = box[:, :2].min(axis=0)
        x1, y1 = box[:, 2:].max(axis=0)
    else:
        people = np.nan_to_num(cells["population"].to_numpy(dtype=float)) if \
            "population" in cells.columns else np.ones(len(cells))
        populated = cells.geometry[people > 0] if (people > 0).any() else cells.geometry
        x0, y0, x1, y1 = populated.total_bounds
    pad = 0.03 * max(x1 - x0, y1 - y0)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


class _Basemap:
    """The folder's basemap (water, railways, streets by class) as compound matplotlib paths in
    the analysis layers' CRS: one path (per ``PATH_CHUNK`` features) per style.

    The basemap is WGS84 in the folder; it is projected here. It takes no part in autoscaling
    (``_frame`` sets the view).
    """

    def __init__(self, folder: OutputFolder) -> None:
        crs = next((f.crs for name, f in folder.layers.items()
                    if not name.startswith("base_")), None)
        #: (compound paths, PathCollection style) in drawing order
        self.parts: list[tuple[list[MplPath], dict[str, Any]]] = []
        if crs is None:
            return
        water = folder.layers.get("base_water")
        if water is not None:
            water = water.to_crs(crs)
            area = water.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
            self.parts.append((polygon_paths(water.geometry.values[area]),
                               {"facecolor": WATER_COLOUR, "edgecolor": "none", "zorder": 0.1}))
            self.parts.append((line_paths(water.geometry.values[~area]),
                               _line_style(WATER_LINE_COLOUR, 0.9, zorder=0.2)))
        rail = folder.layers.get("base_rail")
        if rail is not None:
            self.parts.append((line_paths(rail.to_crs(crs).geometry.values),
                               _line_style(RAIL_COLOUR, 0.7, linestyle=(0, (4, 3)), zorder=0.3)))
        streets = folder.layers.get("base_streets")
        if streets is not None:
            streets = streets.to_crs(crs)
            classes = streets["class"].astype(str).to_numpy()
            for order, (cls, style) in enumerate(STREET_STYLES.items()):
                self.parts.append((line_paths(streets.geometry.values[classes == cls]),
                                   _line_style(style.colour, style.linewidth, capstyle="round",
                                               zorder=0.4 + order / 100)))

    def draw(self, ax: Any) -> None:
        """Add the basemap to an axes, under the data (zorder < 1)."""
        for paths, style in self.parts:
            if paths:
                ax.add_collection(PathCollection(paths, **style), autolim=False)


def _line_style(colour: str, linewidth: float, **style: Any) -> dict[str, Any]:
    """A PathCollection style for open paths: stroked, never filled."""
    return {"edgecolor": colour, "facecolor": "none", "linewidth": linewidth} | style


def _coverage_figure(folder: OutputFolder, kind: str, lang: str, shared: _Shared) -> Figure:
    threshold = folder.threshold_m(kind)
    metric = folder.scorecard.get("metrics", {}).get(f"walk_coverage.{kind}", {})
    subtitle = ""
    if metric.get("value") is not None:
        subtitle = f"{metric_label(f'walk_coverage.{kind}', lang)}: " \
                   f"{format_value(metric['value'], 'share', lang)}"
    name = kind_label(kind, lang)
    classes = DistanceClasses(threshold)
    index = classes.index(folder.layers["population"][f"dist_{kind}"].to_numpy(dtype=float))
    palette = np.array([rgb(c) for c in classes.colours])
    # the cells, translucent over the basemap so the streets underneath stay legible
    image = shared.cells(palette, index)
    fig, ax = _map_axes(folder, text("walk_to", lang, kind=name, radius=metres(threshold)),
                        subtitle, lang, shared, image)
    handles = [Patch(facecolor=c, label=lab)
               for c, lab in zip(classes.colours, classes.labels(lang), strict=True)]
    facilities = folder.layers.get("facilities")
    if facilities is not None:
        own = facilities[facilities["kind"].astype(str) == kind]
        polygonal = own.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        if polygonal.any():  # parks (and any mapped grounds) as their outlines, not dots
            _draw(ax, own.geometry[polygonal], facecolor=kind_colour(kind), alpha=0.55,
                  edgecolor=kind_colour(kind), linewidth=0.6, zorder=4)
            handles.append(Patch(facecolor=kind_colour(kind), alpha=0.55, label=name))
            own = own[~polygonal]
        if not own.empty:
            points = own.geometry.representative_point()
            ax.scatter(points.x, points.y, s=28, c=kind_colour(kind), edgecolors="white",
                       linewidths=0.8, zorder=5)
            handles.append(Line2D([], [], marker="o", linestyle="none", markersize=7,
                                  markerfacecolor=kind_colour(kind), markeredgecolor="white",
                                  label=name))
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    _finish_map(folder, ax)
    return fig


def _residential_figure(folder: OutputFolder, lang: str, shared: _Shared) -> Figure:
    metric = folder.scorecard.get("metrics", {}).get("park_service_radius_coverage", {})
    subtitle = ""
    if metric.get("value") is not None:
        subtitle = f"{metric_label('park_service_radius_coverage', lang)}: " \
                   f"{format_value(metric['value'], 'share', lang)}"
    fig, ax = _map_axes(folder, text("residential_figure", lang), subtitle, lang, shared,
                        shared.base)
    land = folder.layers["residential"]
    covered = folder.residential_covered()
    # one compound path per style (a hatch per polygon is most of a city's drawing time)
    for paths, style in (
            (polygon_paths(land.geometry.values[covered]),
             {"facecolor": COVERED_COLOUR, "edgecolor": "none", "alpha": COVERED_ALPHA}),
            (polygon_paths(land.geometry.values[~covered]),
             {"facecolor": "none", "edgecolor": UNCOVERED_COLOUR, "hatch": "////",
              "linewidth": 0.6})):
        if paths:
            ax.add_collection(PathCollection(paths, **style), autolim=False)
    handles = [Patch(facecolor=COVERED_COLOUR, alpha=COVERED_ALPHA,
                     label=text("residential_covered", lang)),
               Patch(facecolor="none", edgecolor=UNCOVERED_COLOUR, hatch="////",
                     label=text("residential_uncovered", lang))]
    facilities = folder.layers.get("facilities")
    if facilities is not None:
        parks = facilities[facilities["kind"].astype(str) == "park"]
        _draw(ax, parks.geometry, facecolor=kind_colour("park"), edgecolor="none", alpha=0.8)
        if not parks.empty:
            handles.append(Patch(facecolor=kind_colour("park"), label=kind_label("park", lang)))
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    _finish_map(folder, ax)
    return fig


def _draw(ax: Any, geometries: Iterable[Any], **style: Any) -> None:
    """Polygons as one PathCollection in data coordinates (other geometry types are skipped)."""
    paths = _paths(geometries)
    if paths:
        ax.add_collection(PathCollection(paths, **style), autolim=False)


def _paths(geometries: Iterable[Any]) -> list[MplPath]:
    """One matplotlib path per polygon (multipolygons give one per part); rings keep holes."""
    return [path for geom in geometries for path in _polygon_paths(geom)]


def _polygon_paths(geom: Any) -> list[MplPath]:
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [p for part in geom.geoms for p in _polygon_paths(part)]
    if geom.geom_type != "Polygon":
        return []
    rings = [geom.exterior, *geom.interiors]
    vertices = np.concatenate([np.asarray(r.coords)[:, :2] for r in rings])
    codes = np.concatenate([
        [MplPath.MOVETO, *([MplPath.LINETO] * (len(r.coords) - 2)), MplPath.CLOSEPOLY]
        for r in rings
    ])
    return [MplPath(vertices, codes)]


def _scale_bar(ax: Any) -> None:
    """A metric scale bar in the lower right, haloed so it reads over the cells."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span = x1 - x0
    length = next((n for n in (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
                   if n >= span / 6), 100000)
    x, y = x1 - span * 0.03 - length, y0 + (y1 - y0) * 0.03
    halo = [patheffects.withStroke(linewidth=5, foreground="white")]
    ax.plot([x, x + length], [y, y], color="black", linewidth=3, solid_capstyle="butt",
            path_effects=halo, zorder=10)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length} m"
    ax.text(x + length / 2, y + (y1 - y0) * 0.012, label, ha="center", va="bottom", fontsize=8,
            path_effects=halo, zorder=10)
