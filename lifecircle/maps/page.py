"""A folium map rendered to one HTML page: stable element names, inlined data not re-parsed.

branca renders each layer's macros (header, html, script) to text and wraps every text in a new
``Element``, whose constructor compiles the text as a Jinja template. The text is the layer's
finished output (its GeoJSON, its inlined PNG tiles), so the compile does no work but scans every
byte: 4.2 s of a 50x city's map (33 MB of page), 0.6 s of central Chengdu's. While
:func:`render_page` runs, those texts are wrapped in :class:`_Text` instead, which outputs them
as they are. The page is the same but for text that looks like Jinja syntax (``{{`` in an OSM
name), which branca would have evaluated and :class:`_Text` leaves alone. folium's own render
code (GeoJson tooltips and popups, Vega) wraps its finished output the same way, and compiles
the same template source at every render: both go through :class:`_Text` and one compile per
source while the page renders.
"""

from __future__ import annotations

import re
import threading
from functools import cache

import branca.element
import folium
import folium.features
import folium.template
from branca.element import Element
from jinja2 import Template

#: folium's random element ids (32 hex digits after an underscore)
_FOLIUM_ID = re.compile(r"_([0-9a-f]{32})(?![0-9a-f])")
#: one render at a time swaps branca's Element (threads of the workbench may render maps)
_RENDER_LOCK = threading.Lock()


class _Text(Element):
    """A finished text output as is (branca's ``Element(text)`` without the Jinja compile)."""

    _content_template = Template("{{ this.content }}")

    def __init__(self, template: str = "", template_name: str | None = None) -> None:
        super().__init__()
        self.content = template
        self._template = self._content_template


def render_page(m: folium.Map) -> str:
    """The page of a folium map with stable names.

    folium names its elements (and so the page's JavaScript variables) with random 32-digit
    ids; they are renumbered in order of first appearance, so the same folder gives the same
    page, byte for byte.

    Examples
    --------
    >>> import folium
    >>> page = render_page(folium.Map(location=(30.67, 104.07), tiles=None))
    >>> "map_0" in page and page == render_page(folium.Map(location=(30.67, 104.07), tiles=None))
    True
    """
    with _RENDER_LOCK:
        wrap, branca.element.Element = branca.element.Element, _Text
        # folium's GeoJson tooltips and popups compile the same style template at each render
        # and wrap its output in an Element: central Chengdu's 33 of them, 0.12 s of 0.67 s
        swapped = folium.features.Template, folium.features.Element
        folium.features.Template, folium.features.Element = _compiled_once, _Text
        try:
            html = m.get_root().render()
        finally:
            branca.element.Element = wrap
            folium.features.Template, folium.features.Element = swapped
    numbers: dict[str, str] = {}
    return _FOLIUM_ID.sub(lambda match: numbers.setdefault(match[1], f"_{len(numbers)}"), html)


@cache
def _compiled_once(source: str) -> Template:
    """folium's template of ``source``, compiled once (a template keeps no state of a render)."""
    return folium.template.Template(source)


def raw_element(html: str) -> Element:
    """An element that outputs ``html`` as is (not parsed as a Jinja template).

    Examples
    --------
    >>> from branca.element import Figure
    >>> figure = Figure()
    >>> _ = figure.html.add_child(raw_element("<b>{{ not jinja }}</b>"), name="note")
    >>> "<b>{{ not jinja }}</b>" in figure.render()
    True
    """
    element = Element("{{ this.content }}")
    element.content = html
    return element
