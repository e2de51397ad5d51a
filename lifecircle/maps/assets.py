"""Leaflet's JavaScript and CSS, shipped as package data and inlined so map.html works offline.

The files under ``static/`` are Leaflet 1.9.4 from the npm registry, unmodified (BSD 2-Clause,
``static/LICENSE-leaflet.txt``; provenance in ``static/SOURCES.txt``). Inlining rewrites the CSS's
``url(images/...)`` references to data URIs and drops the source-map comment, so the page asks for
nothing outside itself. Neither file contains ``</script`` or ``</style``, so both can sit inside
their elements as they are.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources

LEAFLET_VERSION = "1.9.4"

#: Shipped third-party files and their licences (for the report and the README).
LICENCES = {"Leaflet 1.9.4 (leaflet.js, leaflet.css, images)": "BSD-2-Clause"}

_URL = re.compile(r"url\(\s*['\"]?images/([A-Za-z0-9_.-]+)['\"]?\s*\)")
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


def _data_uri(match: re.Match[str]) -> str:
    encoded = base64.b64encode(_static(match[1])).decode("ascii")
    return f"url(data:image/png;base64,{encoded})"


@cache
def leaflet_css() -> str:
    """leaflet.css with its images inlined as data URIs (and LF line ends, like the page)."""
    return _URL.sub(_data_uri, _static("leaflet.css").decode("utf-8").replace("\r\n", "\n"))


@cache
def leaflet_js() -> str:
    """leaflet.js without its source-map comment (which would point at a missing file)."""
    return _SOURCE_MAP.sub("", _static("leaflet.js").decode("utf-8"))


def inline_head() -> str:
    """``<style>`` and ``<script>`` elements carrying Leaflet, for the page's ``<head>``."""
    return f"<style>{leaflet_css()}</style>\n<script>{leaflet_js()}</script>"
