"""Maps and figures of a run's output folder: ``map.html``, ``figures/*.png``, screenshots.

Everything here reads an output folder (scorecard.json, coverage.gpkg) and draws it; no metric is
computed here (DESIGN §1).
"""

from lifecircle.maps.figures import write_figures
from lifecircle.maps.screenshot import screenshot
from lifecircle.maps.webmap import write_map

__all__ = ["screenshot", "write_figures", "write_map"]
