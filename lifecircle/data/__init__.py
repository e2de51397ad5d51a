"""Sample data shipped inside the package, so a plain install runs the demo and the tests offline.

``chengdu_central.osm.pbf``: OpenStreetMap of central Chengdu (about 70 km², mid-2018),
© OpenStreetMap contributors, ODbL 1.0; its licence and attribution sit beside it in
``LICENSE-chengdu_central.txt``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHENGDU_CENTRAL = "chengdu_central.osm.pbf"


def sample_path(name: str = CHENGDU_CENTRAL) -> Path:
    """The path of a sample data file shipped with lifecircle.

    Parameters
    ----------
    name : str, default "chengdu_central.osm.pbf"
        File name inside ``lifecircle/data``.

    Returns
    -------
    pathlib.Path
        An existing file on disk, ready for ``lifecircle run --osm`` or
        :func:`lifecircle.layers.osm.read_osm`.

    Raises
    ------
    FileNotFoundError
        When no sample of that name ships with the package (the message lists those that do).

    Examples
    --------
    >>> from lifecircle.data import sample_path
    >>> pbf = sample_path()
    >>> pbf.name, pbf.stat().st_size > 100_000
    ('chengdu_central.osm.pbf', True)
    """
    root = resources.files(__package__)
    path = Path(str(root.joinpath(name)))
    if not path.is_file():
        shipped = sorted(p.name for p in root.iterdir() if p.name.endswith((".pbf", ".osm")))
        raise FileNotFoundError(
            f"no sample data named {name!r} in lifecircle.data; shipped: {', '.join(shipped)}")
    return path
