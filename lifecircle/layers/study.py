"""Loading a study from a :class:`~lifecircle.config.RunConfig`: every input layer read once and
projected to one local metric CRS."""

from __future__ import annotations

import dataclasses
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from lifecircle.config import RunConfig
from lifecircle.errors import InputError
from lifecircle.layers.crs import reproject_geometry
from lifecircle.layers.facilities import FacilityReport, facilities_from_file, facilities_from_osm
from lifecircle.layers.landuse import buildings, residential_from_file, residential_land
from lifecircle.layers.network import (
    WalkNetwork,
    network_from_extract,
    network_from_graphml,
    network_from_place,
)
from lifecircle.layers.osm import OsmExtract, read_osm
from lifecircle.layers.population import (
    PopulationGrid,
    modelled_population,
    population_from_raster,
)
from lifecircle.layers.vector import read_vector
from lifecircle.layers.walking import WalkCost, walk_cost


@dataclass
class Study:
    """The loaded layers of one study area, all in ``crs``."""

    config: RunConfig
    network: WalkNetwork
    area: shapely.Geometry
    area_source: str
    facilities: gpd.GeoDataFrame
    facility_report: FacilityReport
    residential: gpd.GeoDataFrame
    population: PopulationGrid
    extract: OsmExtract | None = None
    historic: gpd.GeoDataFrame | None = None
    notes: list[str] = field(default_factory=list)
    #: kinds known to exist (in the batch's region, or before a scenario closed them all) but
    #: with no facility in this study: measured as zero coverage, not as missing layers
    absent_kinds: tuple[str, ...] = ()
    #: slopes (``--dem``) and gated compounds (``--compounds``): the directed cost every walk is
    #: measured with; None is flat network distance
    cost: WalkCost | None = None
    #: seconds spent reading and projecting the layers (``{"study": s}`` from :func:`load_study`)
    timings_s: dict[str, float] = field(default_factory=dict)

    def without_street_geometry(self) -> Study:
        """This study without its streets' geometry and its OSM extract, the bulk of a city's
        memory (at 50x: 1.5M street lines).

        The network keeps its graph, nodes and edge lengths, so the scorecard (node count,
        length, components) is the same; what needs street lines (circles, drawing) no longer
        works on it. Used once a run's outputs no longer need them (``keep_layers=False`` of
        :meth:`~lifecircle.pipeline.result.RunResult.to_folder`).
        """
        edges = self.network.edges.drop(columns=self.network.edges.geometry.name)
        return dataclasses.replace(self, extract=None,
                                   network=dataclasses.replace(self.network, edges=edges))

    @property
    def crs(self) -> CRS:
        """The local metric CRS of every layer."""
        return self.network.crs

    @classmethod
    def from_config(cls, config: RunConfig) -> Study:
        """Load every layer a configuration names (see :func:`load_study`)."""
        return load_study(config)

    @classmethod
    def from_osm(cls, path: str | Path, *, population: str | Path | None = None,
                 population_total: float | None = None,
                 residential_density: float | None = None,
                 boundary: str | Path | None = None,
                 facilities: list[str | Path] | None = None, crs: str | None = None,
                 **options: object) -> Study:
        """A study from an OSM extract: walk network, facilities, residential land and the
        population (a raster, or a total or density spread over residential land).

        Parameters
        ----------
        path : .osm.pbf or .osm (XML) file
        population : population raster (GeoTIFF, VRT)
        population_total, residential_density : or a modelled grid on residential land
        boundary : study-area boundary file (default: the bounds the file declares, else the
            extent of the network)
        facilities : facility files added to those mapped in OSM
        crs : local metric CRS ("utm" default, "cgcs2000", "EPSG:4547", ...)
        options : any other field of :class:`~lifecircle.config.RunConfig`

        Examples
        --------
        >>> from lifecircle.data import sample_path
        >>> study = Study.from_osm(sample_path(), residential_density=400)
        >>> study.network.n_nodes > 20000
        True
        """
        config = RunConfig(osm=Path(path), population=population,
                           population_total=population_total,
                           residential_density=residential_density, boundary=boundary,
                           facilities=list(facilities or []), crs=crs, **options)
        return load_study(config)

    @classmethod
    def from_frames(cls, streets: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                    population: gpd.GeoDataFrame | str | Path,
                    residential: gpd.GeoDataFrame | None = None,
                    parks: gpd.GeoDataFrame | None = None,
                    boundary: gpd.GeoDataFrame | shapely.Geometry | None = None,
                    crs: str | None = None, **options: object) -> Study:
        """A study from GeoDataFrames (see :mod:`lifecircle.layers.frames`).

        Parameters
        ----------
        streets : walkable LineStrings (any CRS); lines join where they share a vertex
        facilities : points or polygons with a ``kind`` column (optional ``name``,
            ``capacity``, ``fid``)
        population : points with a ``population`` column, or a raster path
        residential : residential land polygons (for the park figures)
        parks : park polygons, added to the facilities as kind ``park``
        boundary : the study area (default: the convex hull of the streets)
        crs : local metric CRS (default: the streets' CRS when projected, else UTM)
        options : any other field of :class:`~lifecircle.config.RunConfig` (thresholds...)

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import LineString, Point
        >>> streets = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1000, 0)])],
        ...                            crs="EPSG:32648")
        >>> schools = gpd.GeoDataFrame({"kind": ["primary_school"]},
        ...                            geometry=[Point(0, 10)], crs="EPSG:32648")
        >>> homes = gpd.GeoDataFrame({"population": [100.0, 50.0]},
        ...                          geometry=[Point(400, 20), Point(900, 20)],
        ...                          crs="EPSG:32648")
        >>> study = Study.from_frames(streets, schools, homes)
        >>> study.population.total
        150.0
        """
        from lifecircle.layers.frames import study_from_frames

        config = RunConfig(crs=crs, **options)
        return study_from_frames(config, streets, facilities, population, residential, parks,
                                 boundary)


def load_network(config: RunConfig,
                 extract: OsmExtract | None = None) -> tuple[WalkNetwork, OsmExtract | None]:
    """The walk network (and the OSM extract when the source is an OSM file).

    An ``extract`` already in memory (a batch task's cut of a region) is used instead of a file.
    """
    if extract is not None:
        return network_from_extract(extract, config.crs), extract
    sources = [s for s in (config.osm, config.graphml, config.place) if s]
    if len(sources) != 1:
        raise InputError("network", "give exactly one of --osm FILE, --graphml FILE, --place NAME")
    if config.osm:
        extract = read_osm(config.osm)
        return network_from_extract(extract, config.crs), extract
    if config.graphml:
        return network_from_graphml(config.graphml, config.crs), None
    return network_from_place(config.place, config.crs), None

#: Smallest study area, m² (assumption: below one urban plot of 10 m x 10 m no walking
#: catchment means anything; the hull of one straight street, bent slightly by the map
#: projection, stays far below it)
MIN_AREA_M2 = 100.0


#: Tagged points an OSM file needs for their box to stand for the file's extent.
MIN_POINTS = 10


def study_area(config: RunConfig, network: WalkNetwork, extract: OsmExtract | None,
               area: tuple[shapely.Geometry, str] | None = None) -> tuple[shapely.Geometry, str]:
    """The study area in the network CRS: ``area`` (a WGS84 polygon and its label) when given,
    else the boundary file, else the bounds the OSM file declares, else the convex hull of the
    walk network."""
    named = [flag for flag, value in (("--boundary", config.boundary), ("--county", config.county),
                                      ("--adcode", config.adcode)) if value is not None]
    if len(named) > 1:
        raise InputError(" and ".join(named), "give at most one study area")
    if area is not None:
        wgs84, source = area
    elif config.boundary is not None:
        from lifecircle.layers.boundaries import boundary_from_file

        wgs84, source = boundary_from_file(config.boundary), f"boundary:{config.boundary.name}"
    elif config.adcode is not None:
        from lifecircle.layers.boundaries import boundary_by_adcode

        wgs84, source = boundary_by_adcode(config.adcode), f"adcode:{config.adcode}"
    elif config.county is not None:
        from lifecircle.layers.boundaries import boundary_by_name

        wgs84, source = boundary_by_name(config.county), f"county:{config.county}"
    elif extract is not None and extract.bounds is not None:
        wgs84 = shapely.box(*extract.bounds)
        source = "bounds declared by the OSM file"
    elif extract is not None and (extract.features["osm_type"] == "node").sum() >= MIN_POINTS:
        # an extract keeps whole every way crossing its cut, but tagged points (shops, schools,
        # bus stops) only inside it: their box is the extent the file was cut to
        points = extract.features[extract.features["osm_type"] == "node"]
        wgs84 = shapely.box(*points.total_bounds)
        source = "extent of the data (the box of the file's tagged points)"
    else:
        extent = network.extent()
        if network.hull().area < MIN_AREA_M2:  # one straight street: 0 ha, "100 %" coverage
            raise InputError(config.osm or config.graphml or "network",
                             "the study area would be 0 ha (the walk network is one straight "
                             "line and the file declares no bounds): pass --boundary FILE")
        return extent, "extent of the data (the box holding 99 % of the walk network)"
    area = reproject_geometry(wgs84, "EPSG:4326", network.crs)
    if area.area < MIN_AREA_M2:
        raise InputError(config.boundary or source, "the study area is 0 ha")
    if not area.intersects(network.hull()):
        raise InputError(config.boundary or source, "does not overlap the walk network")
    return area, source


def load_study(config: RunConfig, extract: OsmExtract | None = None,
               area: tuple[shapely.Geometry, str] | None = None) -> Study:
    """Read and project every layer of a study.

    Parameters
    ----------
    config : the configuration naming the files and options
    extract : an OSM extract already in memory, used instead of ``config.osm``
    area : a WGS84 study-area polygon and its label, used instead of ``config.boundary``

    Raises
    ------
    InputError
        For any input that is missing, unreadable or inconsistent (one line each).
    """
    started = time.perf_counter()
    network, extract = load_network(config, extract)
    area, area_source = study_area(config, network, extract, area)
    crs = network.crs
    notes: list[str] = []

    frames, report = [], FacilityReport()
    from_files = [facilities_from_file(path, crs, config.coords, config.capacity_field)
                  for path in config.facilities]  # a bad file fails before the work below
    with ThreadPoolExecutor(1) as pool:
        # matching the OSM facilities is Python (it holds the GIL) while the land and
        # population below are mostly GEOS overlays (which release it): side by side
        matching = (pool.submit(facilities_from_osm, extract.features, crs)
                    if extract is not None and config.osm_facilities else None)
        if config.residential is not None:
            residential = residential_from_file(config.residential, crs)
        elif extract is not None:
            residential = residential_land(extract.features, crs)
        else:
            residential = gpd.GeoDataFrame({"area_m2": []}, geometry=[], crs=crs)
        residential = _clip(residential, area)
        population = _population(config, extract, residential, area, crs)
        if matching is not None:
            osm_facilities, report = matching.result()
            frames.append(osm_facilities)
            notes += report.notes
    frames += from_files
    facilities = (gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                                   crs=crs) if frames else _empty_facilities(crs))
    historic = read_vector(config.historic).to_crs(crs) if config.historic else None
    cost = _walk_cost(config, network, extract, residential)
    return Study(config=config, network=network, area=area, area_source=area_source,
                 facilities=facilities, facility_report=report, residential=residential,
                 population=population, extract=extract, notes=notes, historic=historic,
                 cost=cost, timings_s={"study": time.perf_counter() - started})


def _walk_cost(config: RunConfig, network: WalkNetwork, extract: OsmExtract | None,
               residential: gpd.GeoDataFrame | None = None) -> WalkCost | None:
    """Slopes and gated compounds of the configuration (None: flat network distance)."""
    compounds = read_vector(config.compounds).to_crs(network.crs) if config.compounds else None
    gates = read_vector(config.gates).to_crs(network.crs) if config.gates else None
    source = config.compounds.name if config.compounds else "compounds"
    if config.osm_compounds:
        compounds, gates, source = _osm_compounds(config, network, extract, residential, gates)
    return walk_cost(network, dem=config.dem, dem_units=config.dem_units, extract=extract,
                     compounds=compounds, gates=gates, compounds_source=source,
                     private=config.compound_facilities == "private")


def _osm_compounds(config: RunConfig, network: WalkNetwork, extract: OsmExtract | None,
                   residential: gpd.GeoDataFrame | None, gates: gpd.GeoDataFrame | None):
    """Compounds and gates from the OSM file (``--osm-compounds``); a ``--gates`` file adds
    its gates to the mapped ones."""
    from lifecircle.layers.osm_compounds import compounds_from_osm

    if config.compounds is not None:
        raise InputError("--osm-compounds", "give --compounds FILE or --osm-compounds, not both")
    if extract is None:
        raise InputError("--osm-compounds", "needs an OSM file (--osm)")
    compounds, mapped = compounds_from_osm(extract.source, network.crs, residential)
    if compounds.empty:
        warnings.warn(f"{extract.source.name}: no gated compound mapped (barrier=wall|fence "
                      "rings on residential land, access=private residential land); walks "
                      "stay open", stacklevel=3)
        return None, None, "OSM"
    if gates is not None:
        mapped = pd.concat([mapped[["geometry"]], gates[["geometry"]]], ignore_index=True)
    return compounds, mapped, f"{extract.source.name} (OSM walls)"


def _population(config: RunConfig, extract: OsmExtract | None, residential: gpd.GeoDataFrame,
                area: shapely.Geometry, crs: CRS) -> PopulationGrid:
    chosen = [o for o in (config.population, config.population_total, config.residential_density)
              if o is not None]
    if len(chosen) != 1:
        raise InputError("population", "give exactly one of --population RASTER, "
                                       "--population-total N, --residential-density P")
    if config.population is not None:
        return population_from_raster(config.population, area, crs, crs)
    blds = buildings(extract.features, crs) if extract is not None else None
    if blds is not None:
        blds = _clip(blds, area)
    return modelled_population(residential, blds, crs, total=config.population_total,
                               density_per_ha=config.residential_density)


def _clip(frame: gpd.GeoDataFrame, area: shapely.Geometry) -> gpd.GeoDataFrame:
    if frame.empty:
        return frame
    # only the rows crossing the area's edge need the overlay; those well inside stay whole
    shapely.prepare(area)
    inside = shapely.contains_properly(area, frame.geometry.values)
    clipped = pd.concat([frame[inside], frame[~inside].clip(area)])
    clipped = clipped[~clipped.geometry.is_empty].reset_index(drop=True)
    if "area_m2" in clipped:
        clipped["area_m2"] = clipped.geometry.area
    return clipped


def _empty_facilities(crs: CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"fid": [], "kind": [], "name": [], "capacity": [], "source": []},
                            geometry=[], crs=crs)
