"""Loading a study: every input layer read once and projected to one local metric CRS."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

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


@dataclass
class StudyInputs:
    """What a user names on the command line or in a scenario file."""

    osm: Path | None = None
    graphml: Path | None = None
    place: str | None = None
    population: Path | None = None
    population_total: float | None = None
    residential_density: float | None = None
    boundary: Path | None = None
    county: str | None = None
    adcode: str | None = None
    residential: Path | None = None
    historic: Path | None = None
    facilities: list[Path] = field(default_factory=list)
    coords: str = "wgs84"
    capacity_field: str = "capacity"
    crs: str | None = None
    osm_facilities: bool = True


@dataclass
class Study:
    """The loaded layers of one study area, all in ``crs``."""

    inputs: StudyInputs
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

    @property
    def crs(self) -> CRS:
        """The local metric CRS of every layer."""
        return self.network.crs


def load_network(inputs: StudyInputs,
                 extract: OsmExtract | None = None) -> tuple[WalkNetwork, OsmExtract | None]:
    """The walk network (and the OSM extract when the source is an OSM file).

    An ``extract`` already in memory (a batch task's cut of a region) is used instead of a file.
    """
    if extract is not None:
        return network_from_extract(extract, inputs.crs), extract
    sources = [s for s in (inputs.osm, inputs.graphml, inputs.place) if s]
    if len(sources) != 1:
        raise InputError("network", "give exactly one of --osm FILE, --graphml FILE, --place NAME")
    if inputs.osm:
        extract = read_osm(inputs.osm)
        return network_from_extract(extract, inputs.crs), extract
    if inputs.graphml:
        return network_from_graphml(inputs.graphml, inputs.crs), None
    return network_from_place(inputs.place, inputs.crs), None


def study_area(inputs: StudyInputs, network: WalkNetwork, extract: OsmExtract | None,
               area: tuple[shapely.Geometry, str] | None = None) -> tuple[shapely.Geometry, str]:
    """The study area in the network CRS: ``area`` (a WGS84 polygon and its label) when given,
    else the boundary file, else the bounds the OSM file declares, else the convex hull of the
    walk network."""
    if area is not None:
        wgs84, source = area
    elif inputs.boundary is not None:
        from lifecircle.layers.boundaries import boundary_from_file

        wgs84, source = boundary_from_file(inputs.boundary), f"boundary:{inputs.boundary.name}"
    elif inputs.adcode is not None:
        from lifecircle.layers.boundaries import boundary_by_adcode

        wgs84, source = boundary_by_adcode(inputs.adcode), f"adcode:{inputs.adcode}"
    elif inputs.county is not None:
        from lifecircle.layers.boundaries import boundary_by_name

        wgs84, source = boundary_by_name(inputs.county), f"county:{inputs.county}"
    elif extract is not None and extract.bounds is not None:
        wgs84 = shapely.box(*extract.bounds)
        source = "bounds declared by the OSM file"
    else:
        return network.hull(), "convex hull of the walk network"
    area = reproject_geometry(wgs84, "EPSG:4326", network.crs)
    if not area.intersects(network.hull()):
        raise InputError(inputs.boundary or source, "does not overlap the walk network")
    return area, source


def load_study(inputs: StudyInputs, extract: OsmExtract | None = None,
               area: tuple[shapely.Geometry, str] | None = None) -> Study:
    """Read and project every layer of a study.

    Parameters
    ----------
    inputs : the files and options
    extract : an OSM extract already in memory, used instead of ``inputs.osm``
    area : a WGS84 study-area polygon and its label, used instead of ``inputs.boundary``

    Raises
    ------
    InputError
        For any input that is missing, unreadable or inconsistent (one line each).
    """
    network, extract = load_network(inputs, extract)
    area, area_source = study_area(inputs, network, extract, area)
    crs = network.crs
    notes: list[str] = []

    frames, report = [], FacilityReport()
    if extract is not None and inputs.osm_facilities:
        osm_facilities, report = facilities_from_osm(extract.features, crs)
        frames.append(osm_facilities)
        notes += report.notes
    for path in inputs.facilities:
        frames.append(facilities_from_file(path, crs, inputs.coords, inputs.capacity_field))
    facilities = (gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                                   crs=crs) if frames else _empty_facilities(crs))

    if inputs.residential is not None:
        residential = residential_from_file(inputs.residential, crs)
    elif extract is not None:
        residential = residential_land(extract.features, crs)
    else:
        residential = gpd.GeoDataFrame({"area_m2": []}, geometry=[], crs=crs)
    residential = _clip(residential, area)

    population = _population(inputs, extract, residential, area, crs)
    historic = read_vector(inputs.historic).to_crs(crs) if inputs.historic else None
    return Study(inputs=inputs, network=network, area=area, area_source=area_source,
                 facilities=facilities, facility_report=report, residential=residential,
                 population=population, extract=extract, notes=notes, historic=historic)


def _population(inputs: StudyInputs, extract: OsmExtract | None, residential: gpd.GeoDataFrame,
                area: shapely.Geometry, crs: CRS) -> PopulationGrid:
    chosen = [o for o in (inputs.population, inputs.population_total, inputs.residential_density)
              if o is not None]
    if len(chosen) != 1:
        raise InputError("population", "give exactly one of --population RASTER, "
                                       "--population-total N, --residential-density P")
    if inputs.population is not None:
        return population_from_raster(inputs.population, area, crs, crs)
    blds = buildings(extract.features, crs) if extract is not None else None
    if blds is not None:
        blds = _clip(blds, area)
    return modelled_population(residential, blds, crs, total=inputs.population_total,
                               density_per_ha=inputs.residential_density)


def _clip(frame: gpd.GeoDataFrame, area: shapely.Geometry) -> gpd.GeoDataFrame:
    if frame.empty:
        return frame
    clipped = frame.clip(area)
    clipped = clipped[~clipped.geometry.is_empty].reset_index(drop=True)
    if "area_m2" in clipped:
        clipped["area_m2"] = clipped.geometry.area
    return clipped


def _empty_facilities(crs: CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"fid": [], "kind": [], "name": [], "capacity": [], "source": []},
                            geometry=[], crs=crs)
