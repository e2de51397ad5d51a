"""A run's notes on its inputs (``notes`` of scorecard.json): written in English in the
scorecard, where scripts read them, and shown in the reader's language by the report.

Each note is made from one of the templates below and read back by :func:`note_text`, so a
note's words and its translation live in one place.
"""

from __future__ import annotations

import re

#: OSM schools with neither an ``isced:level`` nor a ``school:level`` tag, nor a name telling the
#: level (``school_levels`` of seeds/standards.yaml)
UNCLASSIFIED_SCHOOLS = ("{count} OSM schools have no level tag or telling name; each counts as "
                        "both primary_school and middle_school")
#: no --region and no boundaries extra to find the study area's region
REGION_UNKNOWN = ("region of the study area unknown (the boundaries extra is not installed): "
                  "only national targets are scored; give --region")

_SHOWN = {
    UNCLASSIFIED_SCHOOLS: {
        "zh": "{count} 所 OSM 学校既无学段标签，名称也看不出学段：每所同时计为小学和初中",
        "en": "{count} OSM schools have no level tag or telling name; each counts as both a "
              "primary school and a middle school",
    },
    REGION_UNKNOWN: {
        "zh": "研究范围所属地区未知（未安装 boundaries 扩展）：只评估国家层面的目标；可用 "
              "--region 指定地区",
        "en": "Region of the study area unknown (the boundaries extra is not installed): only "
              "national targets are scored; give --region",
    },
}


def _pattern(template: str) -> re.Pattern[str]:
    """The template as a regular expression, each ``{field}`` a named group."""
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)"
                              for i, part in enumerate(parts)) + "$")


_PATTERNS = [(_pattern(template), shown) for template, shown in _SHOWN.items()]


def note_text(note: str, lang: str) -> str:
    """A scorecard note in ``lang`` ("zh" or "en"); a note made from no template here (an
    older or newer lifecircle's) is shown as it is.

    Examples
    --------
    >>> note = UNCLASSIFIED_SCHOOLS.format(count=8)
    >>> note_text(note, "zh")
    '8 所 OSM 学校既无学段标签，名称也看不出学段：每所同时计为小学和初中'
    >>> note_text("a note from elsewhere", "zh")
    'a note from elsewhere'
    """
    for pattern, shown in _PATTERNS:
        if (found := pattern.match(note)) is not None:
            return shown[lang].format(**found.groupdict())
    return note
