"""Colours and classes shared by the web map and the static figures (symbology only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifecircle.maps.labels import metres, text

#: One colour per facility kind (distinct on a light background and against the distance ramp).
KIND_COLOURS: dict[str, str] = {
    "kindergarten": "#e7298a",
    "primary_school": "#1f4e9c",
    "middle_school": "#6a3d9a",
    "childcare": "#f768a1",
    "health_station": "#ef6548",
    "health_centre": "#d7301f",
    "hospital": "#8c2d04",
    "park": "#238b45",
    "elderly_daycare": "#fd8d3c",
    "nursing_home": "#ec7014",
    "community_service": "#807dba",
    "culture_station": "#41b6c4",
    "culture_centre": "#225ea8",
    "fitness": "#66c2a4",
    "sports": "#0e8a93",
    "market": "#a6761d",
}
OTHER_KIND_COLOUR = "#525252"

#: Distance classes as multiples of the kind's threshold: two inside it (blue), three beyond (red).
DISTANCE_BREAKS = (0.5, 1.0, 1.5, 2.0)
DISTANCE_COLOURS = ("#2166ac", "#67a9cf", "#fddbc7", "#ef8a62", "#b2182b")
UNREACHABLE_COLOUR = "#bdbdbd"

#: Residential land: covered parts light green, uncovered parts hatched magenta.
COVERED_COLOUR = "#7fbc41"
UNCOVERED_COLOUR = "#c51b7d"

#: Catchment load ratio (demand / capacity) classes.
LOAD_BREAKS = (0.8, 1.0)
LOAD_COLOURS = ("#fee6ce", "#fdae6b", "#e6550d")
LOAD_UNKNOWN_COLOUR = "#d9d9d9"

STUDY_AREA_COLOUR = "#252525"


def kind_colour(kind: str) -> str:
    """The colour of a facility kind."""
    return KIND_COLOURS.get(kind, OTHER_KIND_COLOUR)


@dataclass(frozen=True)
class DistanceClasses:
    """Walking-distance classes around one threshold, for colouring population cells."""

    threshold_m: float

    @property
    def edges_m(self) -> list[float]:
        """Class edges in metres."""
        return [self.threshold_m * b for b in DISTANCE_BREAKS]

    def index(self, distance_m: np.ndarray) -> np.ndarray:
        """Class index per cell: 0..4 by distance, 5 for unreachable (NaN or infinite).

        A distance equal to the threshold is inside it (the metrics count ``<=``).
        """
        distance_m = np.asarray(distance_m, dtype=float)
        reachable = np.isfinite(distance_m)
        idx = np.searchsorted(np.asarray(self.edges_m), np.where(reachable, distance_m, 0.0),
                              side="left")
        return np.where(reachable, idx, len(DISTANCE_COLOURS))

    @property
    def colours(self) -> list[str]:
        """Colour of each class index (the last one: unreachable)."""
        return [*DISTANCE_COLOURS, UNREACHABLE_COLOUR]

    def labels(self, lang: str) -> list[str]:
        """Legend label of each class index."""
        e = self.edges_m
        ranges = [f"≤ {metres(e[0])}", f"{metres(e[0])} – {metres(e[1])}",
                  f"{metres(e[1])} – {metres(e[2])}", f"{metres(e[2])} – {metres(e[3])}",
                  f"> {metres(e[3])}"]
        ranges[0] = text("within", lang, range=ranges[0])
        ranges[1] = text("within", lang, range=ranges[1])
        return [*ranges, text("unreachable", lang)]


def load_class(ratio: float | None) -> int:
    """Load-ratio class: 0 (<= 0.8), 1 (<= 1.0), 2 (over capacity), 3 (unknown)."""
    if ratio is None or not np.isfinite(ratio):
        return len(LOAD_COLOURS)
    return int(np.searchsorted(np.asarray(LOAD_BREAKS), ratio, side="left"))


def load_colours() -> list[str]:
    """Colour of each load class (the last one: capacity unknown)."""
    return [*LOAD_COLOURS, LOAD_UNKNOWN_COLOUR]


def load_labels(lang: str) -> list[str]:
    """Legend label of each load class."""
    low, high = LOAD_BREAKS
    return [f"≤ {low:g}", f"{low:g} – {high:g}", f"> {high:g} ({text('over_capacity', lang)})",
            text("load_unknown", lang)]


@dataclass(frozen=True)
class StreetStyle:
    """How one street class is drawn: colour, web line weight (CSS px), figure width (pt)."""

    colour: str
    weight: float
    linewidth: float


#: Basemap streets by class (``lifecircle.layers.basemap``): light greys, main roads wider and
#: warmer, so the analysis on top keeps the eye; widths follow OSM Carto's order of classes.
STREET_STYLES: dict[str, StreetStyle] = {
    "path": StreetStyle("#d4d4d4", 0.8, 0.25),
    "minor": StreetStyle("#c2c2c2", 1.5, 0.45),
    "secondary": StreetStyle("#b0a58f", 2.6, 0.8),
    "major": StreetStyle("#d9a05b", 4.0, 1.3),
}
WATER_COLOUR = "#cbe6ef"
WATER_LINE_COLOUR = "#8fc4d9"
RAIL_COLOUR = "#8c8c8c"
BASE_LABEL_COLOUR = "#4d4d4d"
