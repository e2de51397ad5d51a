"""Sample data shipped with lifecircle: central Chengdu from OpenStreetMap (ODbL 1.0).

The demo, the examples and the tests run on it without any other file. Licence and attribution:
``LICENSE-chengdu_central.txt`` beside it ("© OpenStreetMap contributors").
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: The sample's name as the maps, figures and reports show it.
SAMPLE_NAME = {"zh": "成都市中心城区（OSM 样例）", "en": "Central Chengdu (OSM sample)"}

#: The bounds the extract was cut to (min lon, min lat, max lon, max lat), WGS84.
SAMPLE_BOUNDS = (104.0421, 30.6528, 104.1296, 30.7279)


def sample_path(name: str = "chengdu_central.osm.pbf") -> Path:
    """Path of a packaged sample file.

    Parameters
    ----------
    name : file name inside ``lifecircle/data``

    Examples
    --------
    >>> sample_path().name
    'chengdu_central.osm.pbf'
    >>> sample_path().stat().st_size < 2_000_000
    True
    """
    path = Path(str(resources.files(__package__).joinpath(name)))
    if not path.is_file():
        raise FileNotFoundError(f"no packaged sample {name!r} in {path.parent}")
    return path
