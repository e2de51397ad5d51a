"""Maps and figures of a run's output folder: ``map.html``, ``figures/*.png``, screenshots.

Everything here reads an output folder (scorecard.json, coverage.gpkg) and draws it; no metric is
computed here (DESIGN §1). The drawing functions are imported when first used: reading a folder
(:mod:`lifecircle.maps.folder`, the report) loads neither matplotlib nor folium.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lifecircle.lazy import lazy_exports

# screenshot is light and bound now: a lazy name would be shadowed by its submodule of the
# same name once anything imported lifecircle.maps.screenshot (the report's PDF printer does)
from lifecircle.maps.screenshot import screenshot

_EXPORTS = {"write_figures": "lifecircle.maps.figures", "write_map": "lifecircle.maps.webmap"}

__all__ = ["screenshot", "write_figures", "write_map"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from lifecircle.maps.figures import write_figures
    from lifecircle.maps.webmap import write_map


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
