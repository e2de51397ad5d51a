"""Reading a run's output folder (scorecard.json + coverage.gpkg) for drawing.

Nothing here computes a metric: values come from the scorecard, geometries and per-feature numbers
from the GeoPackage layers as the run wrote them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from lifecircle.coverage.parallel import in_threads
from lifecircle.errors import InputError
from lifecircle.maps.labels import population_source, text
from lifecircle.seeds import kind_names, load_standards

#: Layers of coverage.gpkg the maps draw (DESIGN §4), in drawing order; the ``base_*`` layers
#: (streets, water, railways, place names; WGS84, ``lifecircle.layers.basemap``) lie underneath.
LAYERS = ("base_water", "base_rail", "base_streets", "base_places", "study_area", "population",
          "residential", "catchments", "service_circles", "service_areas", "facilities")

#: above this many population cells the map draws the cells as one image overlay, not GeoJSON
#: polygons with tooltips (assumption: central Chengdu has ~1,200; a 10x SYNTHETIC city's
#: ~60,000 cells made a 60 MB map.html that took a minute to open in Chromium)
MAX_VECTOR_CELLS = 20_000
#: the population columns drawn above that size (the map's image and the figures)
CITY_CELL_COLUMNS = r"population|dist_.+"

_WORLDPOP = re.compile(r"worldpop|^[a-z]{3}_(ppp|pd|[fm]_\d+)_\d{4}", re.IGNORECASE)


@dataclass
class OutputFolder:
    """A run's output folder, read once.

    Attributes
    ----------
    path : the folder
    scorecard : the parsed scorecard.json
    layers : the coverage.gpkg layers that exist and have rows, in the run's projected CRS
    """

    path: Path
    scorecard: dict[str, Any]
    layers: dict[str, gpd.GeoDataFrame]

    @cached_property
    def kinds(self) -> list[str]:
        """Kinds with distances in the population layer, in standards.yaml order."""
        pop = self.layers.get("population")
        if pop is None:
            return []
        present = {c.removeprefix("dist_") for c in pop.columns if c.startswith("dist_")}
        ordered = [k for k in kind_names() if k in present]
        return ordered + sorted(present - set(ordered))

    def default_kind(self) -> str | None:
        """primary_school when measured, else the first measured kind, else None."""
        if "primary_school" in self.kinds:
            return "primary_school"
        return self.kinds[0] if self.kinds else None

    def threshold_m(self, kind: str) -> float:
        """The run's threshold for a kind (scorecard), else the standard's default."""
        metric = self.scorecard.get("metrics", {}).get(f"walk_coverage.{kind}", {})
        if metric.get("threshold_m") is not None:
            return float(metric["threshold_m"])
        return float(load_standards()["kinds"][kind]["threshold_m"])

    def residential_covered(self) -> np.ndarray:
        """Per residential part: inside a park service radius (``covered``; missing = False)."""
        land = self.layers["residential"]
        if "covered" not in land.columns:
            return np.zeros(len(land), dtype=bool)
        return land["covered"].eq(True).to_numpy()

    def population_credit(self, lang: str) -> str:
        """Where the population comes from, with WorldPop's licence when it is a WorldPop raster.

        A ``credit`` entry in the scorecard's population section, when the run wrote one, is used
        as given.
        """
        population = self.scorecard.get("population", {})
        if population.get("credit"):
            return str(population["credit"])
        source = str(population.get("source", ""))
        if source.startswith("raster:") and _WORLDPOP.search(source.removeprefix("raster:")):
            return text("population_credit", lang, source="WorldPop (CC BY 4.0)")
        return text("population_credit", lang, source=population_source(source, lang))


#: folders whose reads are shared while :func:`shared_reads` is open: path -> (the files'
#: stat signature, the folder read)
_SHARED: dict[Path, tuple[tuple[Any, ...] | None, OutputFolder | None]] = {}


@contextmanager
def shared_reads(out_dir: str | Path, written: OutputFolder | None = None) -> Iterator[None]:
    """Read the folder once for every writer inside the block (map, figures, report).

    At city scale coverage.gpkg holds hundreds of MB; each writer reading it again cost more
    than its drawing. A read is reused only while the folder's scorecard.json and coverage.gpkg
    are unchanged (same size and modification time), and the copy is dropped when the block
    ends. Writers must treat the shared :class:`OutputFolder` as read-only. ``written``: the
    folder as it reads back now (:func:`lifecircle.maps.as_written.folder_as_written` of what
    was just written), shared instead of a first read.

    Examples
    --------
    >>> import tempfile
    >>> from lifecircle.output import write_json
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_json(Path(tmp) / "scorecard.json",
    ...                {"metrics": {}, "population": {}, "study_area": {}})
    ...     with shared_reads(tmp):
    ...         read_folder(tmp) is read_folder(tmp)
    True
    """
    path = Path(out_dir).resolve()
    _SHARED[path] = (None, None) if written is None else (_signature(path), written)
    try:
        yield
    finally:
        _SHARED.pop(path, None)


def _signature(path: Path) -> tuple[Any, ...]:
    stats = [f.stat() for f in (path / "scorecard.json", path / "coverage.gpkg") if f.is_file()]
    return tuple((s.st_size, s.st_mtime_ns, s.st_ino) for s in stats)


def read_folder(out_dir: str | Path, only: Mapping[str, str] | None = None) -> OutputFolder:
    """Read ``scorecard.json`` and the ``coverage.gpkg`` layers of a run's output folder
    (once per :func:`shared_reads` block).

    Parameters
    ----------
    out_dir : str or Path
        A folder written by ``lifecircle run``.
    only : mapping of str to str, optional
        Read only these layers, each with the columns whose names fully match its regular
        expression (a city's population layer is mostly per-kind columns a reader may not
        need). Default: every layer of ``LAYERS`` with every column. Inside a
        :func:`shared_reads` block the folder is read once and shared instead: every layer
        with every column, but a city's population cells with only the columns the writers
        draw (:data:`CITY_CELL_COLUMNS`).

    Returns
    -------
    OutputFolder

    Raises
    ------
    InputError
        When the folder or its scorecard.json is missing or unreadable.
    """
    path = Path(out_dir)
    shared = _SHARED.get(path.resolve())
    if shared is not None:
        signature = _signature(path)
        if shared[0] == signature and shared[1] is not None:
            return shared[1]
        folder = _read(path, _shared_columns(path))
        _SHARED[path.resolve()] = (signature, folder)
        return folder
    return _read(path, only)


def _shared_columns(path: Path) -> dict[str, str] | None:
    """What a shared read reads: every layer with every column (None), but of a city's
    population layer (above :data:`MAX_VECTOR_CELLS` cells, drawn as an image without
    tooltips) only :data:`CITY_CELL_COLUMNS`, what its writers draw (a 50x SYNTHETIC city's
    cells have 39 columns: 7.1 s to read them all)."""
    try:
        cells = pyogrio.read_info(path / "coverage.gpkg", layer="population")["features"]
    except (DataSourceError, DataLayerError):
        return None  # no GeoPackage or no cells: read as usual (and fail as usual)
    if cells <= MAX_VECTOR_CELLS:
        return None
    return {name: ".*" for name in LAYERS} | {"population": CITY_CELL_COLUMNS}


def _read(path: Path, only: Mapping[str, str] | None = None) -> OutputFolder:
    card = path / "scorecard.json"
    if not card.is_file():
        raise InputError(path, "not a lifecircle output folder (no scorecard.json)")
    try:
        scorecard = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(card, f"cannot be read ({exc})") from None
    check_scorecard(scorecard, card)
    layers: dict[str, gpd.GeoDataFrame] = {}
    gpkg = path / "coverage.gpkg"
    if gpkg.is_file():
        try:
            present = {str(name) for name, _ in pyogrio.list_layers(gpkg)}
            names = [n for n in LAYERS if n in present and (only is None or n in only)]
            # one thread per core: GDAL reads with the GIL released part of the time (a 50x
            # SYNTHETIC city's layers: 11.7 s -> 9.4 s wall on 2 cores, the same frames)
            frames = in_threads(partial(_read_layer, gpkg, only), names)
            layers = {n: f for n, f in zip(names, frames, strict=True) if not f.empty}
        except (DataSourceError, DataLayerError) as exc:
            reason = str(exc).split(";")[-1].strip() or type(exc).__name__
            raise InputError(gpkg, f"cannot be read ({reason}); rerun lifecircle run") from None
    return OutputFolder(path=path, scorecard=scorecard, layers=layers)


def _read_layer(gpkg: Path, only: Mapping[str, str] | None, name: str) -> gpd.GeoDataFrame:
    """One layer, its rows without geometry dropped (see :func:`read_folder`)."""
    columns = None if only is None else [
        str(c) for c in pyogrio.read_info(gpkg, layer=name)["fields"]
        if re.fullmatch(only[name], str(c))]
    frame = gpd.read_file(gpkg, layer=name, engine="pyogrio", columns=columns)
    drawn = (frame.geometry.notna() & ~frame.geometry.is_empty).to_numpy()
    if not drawn.all():  # a copy of a city's population only when needed
        frame = frame[drawn].reset_index(drop=True)
    return frame


#: The scorecard sections the maps read, each a JSON object
_SECTIONS = ("metrics", "population", "study_area")


def check_scorecard(card: Any, path: Path) -> None:
    """Refuse a hand-edited scorecard whose sections or values have the wrong type.

    Raises
    ------
    InputError
        Naming the file and the first missing or mistyped entry.
    """
    if not isinstance(card, dict):
        raise InputError(path, "is not a JSON object (a lifecircle scorecard)")
    for key in _SECTIONS:
        if not isinstance(card.get(key), dict):
            problem = "is missing" if key not in card else "is not a JSON object"
            raise InputError(path, f"{key} {problem}; rerun lifecircle run")
    numbers = [("population.total", card["population"].get("total")),
               ("study_area.area_ha", card["study_area"].get("area_ha"))]
    for metric_id, metric in card["metrics"].items():
        if not isinstance(metric, dict):
            raise InputError(path, f"metrics.{metric_id} is not a JSON object")
        numbers += [(f"metrics.{metric_id}.{k}", metric.get(k)) for k in ("value", "threshold_m")]
    for where, value in numbers:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InputError(path, f"{where} is {value!r}, not a number")
