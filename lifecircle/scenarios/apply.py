"""Applying a scenario's interventions to a loaded study: add and close facilities, grow
population, open gates in gated compounds. The baseline study is never changed; a new one is
returned."""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle.errors import InputError
from lifecircle.layers.crs import reproject_geometry
from lifecircle.layers.facilities import COLUMNS
from lifecircle.layers.population import PopulationGrid
from lifecircle.layers.study import Study
from lifecircle.layers.walking import with_gate
from lifecircle.scenarios.spec import Add, Close, Grow, Intervention


def apply_interventions(study: Study, interventions: list[Intervention],
                        source: str = "scenario") -> Study:
    """The study with every intervention applied in order.

    Raises
    ------
    InputError
        A ``close`` that matches no facility, a ``grow`` polygon outside the study area, or a
        ``gate`` in a study without compounds or naming no compound.
    """
    facilities, population, cost = study.facilities, study.population, study.cost
    before = set(facilities["kind"])
    for number, item in enumerate(interventions, start=1):
        label = f"{source}: intervention {number}"
        if item.add is not None:
            facilities = add_facility(facilities, item.add, number, study)
        elif item.close is not None:
            facilities = _close(facilities, item.close, label)
        elif item.grow is not None:
            population = _grow(population, item.grow, study, label)
        elif item.gate is not None:  # the compound graph is rebuilt with the new gate
            point = reproject_geometry(shapely.Point(item.gate.lon, item.gate.lat), "EPSG:4326",
                                       study.crs)
            cost = with_gate(cost, study.network, item.gate.compound, point.x, point.y, label)
    closed = tuple(sorted(before - set(facilities["kind"])))
    return dataclasses.replace(study, facilities=facilities, population=population,
                               absent_kinds=closed, cost=cost)


def add_facility(facilities: gpd.GeoDataFrame, add: Add, number: int, study: Study
                 ) -> gpd.GeoDataFrame:
    """The facilities with ``add`` appended last as ``scenario/<number>`` (the number of its
    intervention): a point, or for a size (parks) a round site of that area."""
    point = reproject_geometry(shapely.Point(add.lon, add.lat), "EPSG:4326", study.crs)
    # a park needs an area for its service-radius tier: a round site of the given size
    geometry = point.buffer(math.sqrt(add.size_m2 / math.pi), 32) if add.size_m2 else point
    row = gpd.GeoDataFrame(
        {"fid": [f"scenario/{number}"], "kind": [add.kind], "name": [add.name],
         "capacity": [add.capacity if add.capacity is not None else np.nan],
         "source": ["scenario"]},
        geometry=[geometry], crs=study.crs,
    )
    return gpd.GeoDataFrame(pd.concat([facilities, row[COLUMNS]], ignore_index=True),
                            geometry="geometry", crs=study.crs)


def _close(facilities: gpd.GeoDataFrame, close: Close, label: str) -> gpd.GeoDataFrame:
    match = np.ones(len(facilities), dtype=bool)
    if close.id is not None:
        match &= (facilities["fid"] == close.id).to_numpy()
    if close.name is not None:
        match &= (facilities["name"] == close.name).to_numpy()
    if close.kind is not None:
        match &= (facilities["kind"] == close.kind).to_numpy()
    if not match.any():
        what = ", ".join(f"{k}={v}" for k, v in close.model_dump().items() if v is not None)
        raise InputError(label, f"close matches no facility ({what})")
    return facilities.loc[~match].reset_index(drop=True)


def _grow(population: PopulationGrid, grow: Grow, study: Study, label: str) -> PopulationGrid:
    polygon = shapely.make_valid(shapely.Polygon(grow.polygon))
    local = reproject_geometry(polygon, "EPSG:4326", study.crs)
    if not local.intersects(study.area):
        raise InputError(label, "grow polygon lies outside the study area")
    size = population.cell_size
    xmin, ymin, xmax, ymax = local.bounds
    xs = np.arange(math.floor(xmin / size), math.ceil(xmax / size)) * size + size / 2
    ys = np.arange(math.floor(ymin / size), math.ceil(ymax / size)) * size + size / 2
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    inside = shapely.contains_xy(local, gx, gy)
    if not inside.any():  # smaller than a cell: everyone at its representative point
        point = local.representative_point()
        gx, gy, inside = np.array([point.x]), np.array([point.y]), np.array([True])
    people = np.full(int(inside.sum()), grow.people / inside.sum())
    return PopulationGrid(
        x=np.concatenate([population.x, gx[inside]]),
        y=np.concatenate([population.y, gy[inside]]),
        population=np.concatenate([population.population, people]),
        cell_size=size, crs=population.crs, source=f"{population.source}+scenario",
    )
