"""What a run computed (``RunResult``): metrics and targets as DataFrames, the population cells
as a GeoDataFrame, the scorecard document and the output folder (DESIGN §2, §4)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import yaml

import lifecircle
from lifecircle.config import RunConfig
from lifecircle.coverage.walk import KindAccess
from lifecircle.layers.study import Study
from lifecircle.layers.walking import walking_section
from lifecircle.metrics import ASSUMED, NOT_MEASURED, Metric, label
from lifecircle.output import atomic_directory, json_text, write_csv, write_json, write_layers
from lifecircle.pipeline.stages import settle_layers
from lifecircle.seeds.targets import Target, score_target

if TYPE_CHECKING:
    from lifecircle.maps.folder import OutputFolder

METRIC_COLUMNS = ["value", "unit", "label", "method", "denominator", "status"]
#: The two park indicators (GB/T 50563-2010 and the city-check activity-space one).
PARK_INDICATORS = ("park_service_radius_coverage", "park_activity_space_coverage")
#: The status of a target whose value rests on assumed parameters (never judged met).
ASSUMED_NOT_JUDGED = "assumed — not judged"
#: The run's effective options in its output folder (input paths absolute), so the folder records
#: how to rebuild its study (``lifecircle serve DIR``, ``lifecircle run --config DIR/config.yaml``).
CONFIG_FILE = "config.yaml"


@dataclass
class RunResult:
    """A run's metrics, layers, tables and targets.

    Attributes
    ----------
    study : the study the run measured
    config : the configuration it ran with
    access : per kind, every cell's nearest facility and distance
    records : the typed metrics by id
    layers : the GeoPackage layers (``population``, ``facilities``, ``service_circles``...)
    missing_kinds : kinds asked for that have no facility in the study area
    timings_s : seconds per stage
    target_list : the targets scored
    tables : CSV tables by file name (``facilities.csv``, ``parks.csv``)
    regions : the regions whose targets are scored (from ``--region`` or the location)
    data_coverage : kinds with fewer facilities than GB 50180-2018 implies for the population
    pending_layers : layers still computed on a thread (``run(..., defer_layers=True)``), added
        to ``layers`` by :meth:`settle_layers`; empty otherwise
    """

    study: Study
    config: RunConfig
    access: dict[str, KindAccess]
    records: dict[str, Metric]
    layers: dict[str, gpd.GeoDataFrame]
    missing_kinds: list[str]
    timings_s: dict[str, float]
    target_list: list[Target] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    regions: list[str] = field(default_factory=list)
    data_coverage: list[dict[str, Any]] = field(default_factory=list)
    pending_layers: dict[str, Future] = field(default_factory=dict, repr=False)

    def settle_layers(self) -> RunResult:
        """Wait for the layers still computed on a thread and add them to ``layers``."""
        settle_layers(self.pending_layers, self.layers)
        return self

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per metric id: value, unit, label (in the run's language), method,
        denominator and status."""
        rows = {mid: {"value": m.value, "unit": m.unit, "label": label(mid, self.config.lang),
                      "method": m.method, "denominator": m.denominator, "status": m.status}
                for mid, m in self.records.items()}
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=METRIC_COLUMNS)
        frame.index.name = "metric"
        return frame

    def value(self, metric_id: str) -> float | None:
        """The value of one metric (None when not measured or not produced)."""
        record = self.records.get(metric_id)
        return None if record is None else record.value

    def scored_targets(self) -> list[dict[str, Any]]:
        """Each target with the run's value and its status (DESIGN §4 contract): "met", "not
        met", "assumed — not judged" (the value rests on assumed parameters: never judged met),
        "not measured" (with the reason) or "catalogued, not measured" (no metric can)."""
        scored = []
        for target in self.target_list:
            entry = judge(target, self.records.get(target.metric) if target.metric else None)
            if target.metric in PARK_INDICATORS:  # each park indicator shows the other beside it
                entry["beside"] = {m: self.value(m) for m in PARK_INDICATORS
                                   if m != target.metric}
            scored.append(entry)
        return scored

    @property
    def targets(self) -> pd.DataFrame:
        """The scored targets, one row per target id."""
        return pd.DataFrame(self.scored_targets()).set_index("id") if self.target_list \
            else pd.DataFrame()

    @property
    def cells(self) -> gpd.GeoDataFrame:
        """Population cells: ``population``, ``dist_<kind>``, ``nearest_<kind>`` and the
        per-cell columns of the stages."""
        return self.layers["population"]

    @property
    def facilities(self) -> gpd.GeoDataFrame:
        """The facilities the run measured (all kinds)."""
        return self.study.facilities

    def scorecard(self) -> dict[str, Any]:
        """The scorecard.json document (DESIGN §4)."""
        study = self.study
        return {
            "study_area": {
                "name": study_name(self.config),
                "source": study.area_source,
                "area_ha": study.area.area / 1e4,
                "crs": study.crs.to_string(),
                "network_nodes": study.network.n_nodes,
                "network_length_km": study.network.total_length_m / 1000.0,
                "network_outside_largest_component_share": study.network.outside_largest_share,
            },
            "population": {
                "total": study.population.total,
                "source": study.population.source,
                "cells": study.population.n_cells,
            },
            "walking": walking_section(study.cost, self.config),
            "metrics": {mid: m.as_dict() for mid, m in self.records.items()},
            "targets": self.scored_targets(),
            "regions": self.regions,
            "data_coverage": self.data_coverage,
            "missing_layers": self.missing_kinds,
            "notes": study.notes,
            "inputs": _inputs(study.config),
            "version": lifecircle.__version__,
        }

    def to_folder(self, path: str | Path, *, lang: str | None = None,
                  figures: bool | None = None, keep_layers: bool = True) -> Path:
        """Write the output folder atomically (scorecard.json, coverage.gpkg, CSV tables,
        map.html, figures/*.png): the same files as ``lifecircle run``.

        ``keep_layers=False`` lets go of :attr:`layers` and of the study's street geometry and
        OSM extract (:meth:`~lifecircle.layers.study.Study.without_street_geometry`) once
        coverage.gpkg is written (the map, figures and report read the folder): a city's layers
        are then not held twice while the map is drawn. The command line does this; the result
        has no layers afterwards (its metrics, targets and scorecard stay)."""
        with atomic_directory(path, inputs=self.config.input_paths()) as staging:
            self.write_files(staging, lang=lang, figures=figures, keep_layers=keep_layers)
        return Path(path)

    def write_files(self, folder: Path, *, lang: str | None = None,
                    figures: bool | None = None, keep_layers: bool = True) -> None:
        """Write the output files into an existing (staging) folder (``keep_layers``: see
        :meth:`to_folder`)."""
        from lifecircle.forked import Gated, can_fork, start_beside
        from lifecircle.maps.as_written import folder_as_written
        from lifecircle.maps.folder import shared_reads

        lang = lang or self.config.lang
        figures = self.config.figures if figures is None else figures
        started = time.perf_counter()
        laps: dict[str, float] = {}

        def lap(name: str) -> None:
            laps[name] = time.perf_counter() - started - sum(laps.values())

        folder.mkdir(parents=True, exist_ok=True)
        small = can_fork()
        if small:  # no thread may be computing while the map's process forks
            self.settle_layers()
        card, layers = json_text(self.scorecard()), self._gpkg_layers()
        # a small run's map is drawn from the layers as they will read back, by a process
        # forked now, beside their writing (central Chengdu: 0.3 s earlier than from a read of
        # the GeoPackage once written); otherwise by a process forked now that imports folium
        # while the layers are written and reads them once written. A city's run holds too
        # much to fork: it writes the map last, in this process, from the read shared with
        # the figures and report
        written = folder_as_written(folder, card, layers) if small else None
        map_job = Gated(partial(_write_map, folder, lang, self.config.tiles),
                        prepare=_import_map) if written is None else \
            partial(_write_folder_map, written, lang, self.config.tiles)
        gate = map_job if isinstance(map_job, Gated) else None
        with start_beside(map_job) as mapping:
            with gate.dropped_on_error() if gate else nullcontext():
                self._write_layers(folder, card, layers)
                lap("write_layers")  # scorecard, GeoPackage (analysis, basemap), CSV tables
            if gate:
                gate.open()
            del layers
            if not keep_layers:
                self.layers = {}
                self.study = self.study.without_street_geometry()
            with shared_reads(folder, written):  # the figures, report (and an unforked map)
                self._write_figures_and_report(folder, lang, figures, lap)
                mapping.result()
                lap("write_map")  # the wait for the map once the figures and report are written
        if self.pending_layers:  # read by nothing above: written once its overlays are done
            pending = self.pending_layers
            write_layers(folder / "coverage.gpkg", {n: f.result() for n, f in pending.items()})
            if keep_layers:
                self.settle_layers()
            self.pending_layers = {}
            lap("write_pending")
        write_json(folder / "timings.json", self.timings_s | laps | {
            "writing": time.perf_counter() - started})

    def _gpkg_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers of coverage.gpkg: the analysis layers, then the offline basemap's (read
        from the same OSM file, WGS84)."""
        layers = dict(self.layers)
        if self.config.osm is not None:
            from lifecircle.layers.basemap import basemap_layers
            from lifecircle.layers.crs import reproject_geometry

            area = reproject_geometry(self.study.area.buffer(500.0), self.study.crs, "EPSG:4326")
            layers.update(basemap_layers(self.config.osm, clip=area))
        return layers

    def _write_layers(self, folder: Path, card: str, layers: dict[str, gpd.GeoDataFrame]
                      ) -> None:
        """scorecard.json (its text), config.yaml, coverage.gpkg, the CSV tables."""
        (folder / "scorecard.json").write_text(card, encoding="utf-8")
        (folder / CONFIG_FILE).write_text(yaml.safe_dump(
            self.config.portable(), allow_unicode=True, sort_keys=False), encoding="utf-8")
        write_layers(folder / "coverage.gpkg", layers)
        for name, table in self.tables.items():
            if not table.empty:
                write_csv(folder / name, table)

    def _write_figures_and_report(self, folder: Path, lang: str, figures: bool,
                                  lap: Callable[[str], None]) -> None:
        """The figures (when asked) and the report using them: Chromium, which prints the
        report's PDF, starts (0.6-1.5 s) while the figures are drawn, once their workers
        have forked (a fork beside Chromium's starting thread could inherit a lock it holds)."""
        if not (figures or self.config.report):
            return
        from lifecircle.report import can_print, start_printer, write_report

        with ExitStack() as started:  # each one closed from when it starts (Ctrl-C)
            drawing = printer = copies = None
            if figures:  # matplotlib is imported only to draw figures
                from lifecircle.maps.figures import start_figures

                if self.config.report and can_print():  # the JPEGs report.pdf prints
                    copies = Path(started.enter_context(tempfile.TemporaryDirectory(
                        prefix="lifecircle-print-")))
                drawing = started.enter_context(start_figures(folder, lang,
                                                              print_copies=copies))
                if self.config.report and (printer := start_printer()) is not None:
                    started.enter_context(printer)
            if drawing is not None:
                drawing.result()
                lap("write_figures")
            if self.config.report:
                # with the figures when they were drawn; none drawn for it (--no-figures)
                write_report(folder, lang=lang, pdf=printer is not None, printer=printer,
                             draw_figures=False, print_copies=copies)
                lap("write_report")

    def map(self, lang: str | None = None, kind: str | None = None):
        """The interactive map as a ``folium.Map`` (displays in Jupyter)."""
        import tempfile

        from lifecircle.maps.folder import read_folder
        from lifecircle.maps.webmap import build_map

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write_json(folder / "scorecard.json", self.scorecard())
            write_layers(folder / "coverage.gpkg", self.layers)
            return build_map(read_folder(folder), lang or self.config.lang, kind,
                             tiles=self.config.tiles)


def _import_map() -> None:
    import lifecircle.maps.webmap  # noqa: F401  (folium: imported by the map's own process)


def import_writers(config: RunConfig) -> None:
    """Import what writing a run's folder needs beyond the run (folium for the map, jinja2 for
    the report, matplotlib when figures are drawn), so that :meth:`RunResult.to_folder` does
    not (``run(..., while_waiting=...)`` calls it where the process would be idle).

    Examples
    --------
    >>> import sys
    >>> import_writers(RunConfig(figures=False))
    >>> "folium" in sys.modules and "jinja2" in sys.modules
    True
    """
    from lifecircle.startup import collector_paused

    with collector_paused():
        _import_map()
        if config.report:
            import lifecircle.report  # noqa: F401
        if config.figures:
            import lifecircle.maps.figures  # noqa: F401


def _write_map(folder: Path, lang: str, tiles: str) -> Path:
    from lifecircle.maps.webmap import write_map

    return write_map(folder, lang=lang, tiles=tiles)


def _write_folder_map(folder: OutputFolder, lang: str, tiles: str) -> Path:
    from lifecircle.maps.webmap import write_folder_map

    return write_folder_map(folder, lang=lang, tiles=tiles)


def study_name(config: RunConfig) -> str | None:
    """The study area's name for titles: ``name``, else the county or place, else the packaged
    sample's name, else the OSM file's."""
    from lifecircle.data import SAMPLE_NAME, sample_path

    if config.name or config.county or config.place:
        return config.name or config.county or config.place
    if config.osm is not None and config.osm.resolve() == sample_path().resolve():
        return SAMPLE_NAME[config.lang]
    return Path(config.osm).name.split(".")[0] if config.osm else None


def judge(target: Target, record: Metric | None) -> dict[str, Any]:
    """A target scored against a metric record, honest about partial and assumed inputs."""
    value = None if record is None else record.value
    scored = score_target(target, value) | {"assumed": False}
    if record is not None and record.status == NOT_MEASURED:
        return scored | {"status": "not measured", "reason": record.reason}
    if record is not None and "residential_ha" in record.details and target.unit == "share":
        # residential land still to cover to reach the target (park indicators)
        land, covered = record.details["residential_ha"], record.details["covered_ha"]
        scored["to_target_ha"] = max(0.0, target.value * land - covered)
    if record is not None and record.status == ASSUMED:
        assumption = record.reason or record.details.get("capacity_source") or "assumed inputs"
        return scored | {"met": None, "gap": None, "assumed": True,
                         "status": ASSUMED_NOT_JUDGED, "reason": assumption}
    return scored


def _inputs(config: RunConfig) -> dict[str, Any]:
    """The inputs named in the scorecard: file names only (no folders of the user's disk)."""
    def name(path: Path | None) -> str | None:
        return Path(path).name if path is not None else None

    return {
        "osm": name(config.osm),
        "graphml": name(config.graphml),
        "place": config.place,
        "population": name(config.population),
        "population_total": config.population_total,
        "residential_density_per_ha": config.residential_density,
        "boundary": name(config.boundary),
        "facilities": [Path(p).name for p in config.facilities],
        "coords": config.coords,
    }
