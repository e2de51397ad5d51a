"""Online tile layers under the maps, opt-in (``--tiles osm|tianditu``; default ``none``).

By default the maps draw only the offline vector basemap taken from the run's own OSM file
(:mod:`lifecircle.maps.basemap`) and the page asks nothing of the network. With ``osm`` or
``tianditu`` the page gains a tile base layer that the *browser* fetches when the page is opened;
Python never requests a tile, so runs and tests stay offline.

- ``osm``: OpenStreetMap's standard tiles ("© OpenStreetMap contributors"). Their usage policy
  asks for light use; a page opened from disk sends no Referer, which the servers may refuse.
- ``tianditu``: 天地图 vector tiles and their Chinese annotation (``vec_w`` + ``cva_w``, the Web
  Mercator matrix set ``w``). Tianditu is in CGCS2000, which agrees with WGS84 to well under a
  metre at city scale, so the drawn WGS84 data needs NO GCJ-02 shift (unlike Amap/Gaode or
  Baidu tiles, which are offset). Tianditu needs a key: it is read from the environment variable
  :data:`TIANDITU_ENV` and, because the browser must send it with every tile request, it is
  written into the page (map.html, sites.html) and nowhere else: not into the configuration, the
  scorecard or the console. A warning says so when a page holds it.
"""

from __future__ import annotations

import os
import warnings
from urllib.parse import quote

import folium

from lifecircle.errors import InputError
from lifecircle.maps.labels import OSM_CREDIT

#: The values of ``--tiles``.
TILE_SOURCES = ("none", "osm", "tianditu")
#: Environment variable holding the user's Tianditu key (天地图 API key, "tk").
TIANDITU_ENV = "TIANDITU_KEY"

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_CREDIT_HTML = OSM_CREDIT.replace(
    "OpenStreetMap", '<a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>')
#: Tianditu WMTS GetTile, Web Mercator ("_w" services, TILEMATRIXSET=w), servers t0-t7.
TIANDITU_TILES = ("https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                  "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                  "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}")
TIANDITU_CREDIT = {
    "zh": '© <a href="https://www.tianditu.gov.cn/">天地图</a>（国家地理信息公共服务平台）',
    "en": '© <a href="https://www.tianditu.gov.cn/">Tianditu</a> (National Platform for Common '
          "GeoSpatial Information Services)",
}
_NAMES = {
    "plain": {"zh": "不加载在线底图（离线）", "en": "No online tiles (offline)"},
    "osm": {"zh": "OpenStreetMap 底图（需联网）", "en": "OpenStreetMap tiles (online)"},
    "tianditu": {"zh": "天地图矢量底图（需联网）", "en": "Tianditu vector tiles (online)"},
    "tianditu_labels": {"zh": "天地图注记（需联网）", "en": "Tianditu labels (online)"},
}


def check_tiles(tiles: str) -> str:
    """The tile source, checked; for ``tianditu`` the key must be in the environment.

    Called before any work, so a missing key costs the user nothing.

    Examples
    --------
    >>> check_tiles("osm")
    'osm'

    Raises
    ------
    InputError
        An unknown source, or ``tianditu`` without :data:`TIANDITU_ENV` set.
    """
    if tiles not in TILE_SOURCES:
        raise InputError(f"--tiles {tiles}", f"must be one of {', '.join(TILE_SOURCES)}")
    if tiles == "tianditu":
        tianditu_key()
    return tiles


def tianditu_key() -> str:
    """The user's Tianditu key from :data:`TIANDITU_ENV`.

    Raises
    ------
    InputError
        The variable is unset or empty.
    """
    key = os.environ.get(TIANDITU_ENV, "").strip()
    if not key:
        raise InputError("--tiles tianditu", missing_key_message())
    return key


def missing_key_message() -> str:
    """What to do when the Tianditu key is missing (one line)."""
    return (f"needs your Tianditu key in the environment variable {TIANDITU_ENV} "
            "(get one at https://console.tianditu.gov.cn/), or use --tiles osm / none")


def add_tiles(m: folium.Map, tiles: str, lang: str, page: str = "map.html") -> bool:
    """Add the online tile base layer(s) of ``tiles`` to a map; nothing for ``none``.

    The tiles are shown on opening; a "no online tiles" entry in the layer control switches
    them off (the offline vector basemap is then there to turn on).

    Parameters
    ----------
    m : the folium map, before its other layers
    tiles : ``"none"``, ``"osm"`` or ``"tianditu"``
    lang : ``"zh"`` or ``"en"`` (layer names, credits)
    page : the file the map becomes, named in the key warning

    Returns
    -------
    bool
        Whether a tile layer was added.

    Examples
    --------
    >>> import folium
    >>> m = folium.Map(tiles=None)
    >>> add_tiles(m, "osm", "en")
    True
    >>> [c.tiles for c in m._children.values() if isinstance(c, folium.TileLayer)]
    ['https://tile.openstreetmap.org/{z}/{x}/{y}.png']
    """
    check_tiles(tiles)
    if tiles == "none":
        return False
    if tiles == "osm":
        folium.TileLayer(OSM_TILES, attr=OSM_CREDIT_HTML, name=_NAMES["osm"][lang],
                         overlay=False, show=True, max_zoom=19).add_to(m)
    else:
        key = quote(tianditu_key(), safe="")
        credit = TIANDITU_CREDIT[lang]
        # Tianditu tiles are CGCS2000 ≈ WGS84 (sub-metre): the WGS84 layers need no GCJ-02 shift.
        folium.TileLayer(TIANDITU_TILES.format(layer="vec", key=key), attr=credit,
                         name=_NAMES["tianditu"][lang], overlay=False, show=True, max_zoom=18,
                         subdomains="01234567").add_to(m)
        folium.TileLayer(TIANDITU_TILES.format(layer="cva", key=key), attr=credit,
                         name=_NAMES["tianditu_labels"][lang], overlay=True, show=True,
                         max_zoom=18, subdomains="01234567").add_to(m)
        warnings.warn(f"{page} holds your Tianditu key ({TIANDITU_ENV}) in its tile addresses, "
                      "as the browser needs it to fetch tiles: do not publish or share the file",
                      stacklevel=2)
    folium.FeatureGroup(name=_NAMES["plain"][lang], overlay=False, show=False).add_to(m)
    return True
