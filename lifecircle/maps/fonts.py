"""A CJK font for matplotlib (Noto Sans CJK from Debian's fonts-noto-cjk), or English labels.

Matplotlib caches the system's font list (``fontlist-v*.json``) the first time it runs; a font
installed afterwards (``apt-get install fonts-noto-cjk`` after ``pip install lifecircle``) stays
unknown to it, and the figures fell back to English. When no CJK family is known but fontconfig
lists one, its files are added with the public ``FontManager.addfont`` and the cache is rewritten.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import warnings
from functools import cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager

#: Families tried in order; the first one matplotlib's font manager knows is used.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC")


@cache
def cjk_family() -> str | None:
    """The first of ``CJK_FAMILIES`` matplotlib knows, after refreshing its font list when it
    knows none but the system has one (:func:`refresh_font_cache`); else None."""
    family = _known_family()
    if family is None and refresh_font_cache():
        family = _known_family()
    return family


def _known_family() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def system_cjk_fonts() -> list[str]:
    """Font files fontconfig lists for Chinese whose family is one of ``CJK_FAMILIES``.

    Returns
    -------
    list of str
        Paths, sorted; empty when ``fc-list`` is missing or fails.
    """
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listed = subprocess.run([fc_list, ":lang=zh", "file", "family"], capture_output=True,
                                text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = set()
    for line in listed.splitlines():
        path, _, families = line.partition(":")
        if {f.strip() for f in families.split(",")} & set(CJK_FAMILIES):
            files.add(path.strip())
    return sorted(f for f in files if Path(f).is_file())


def refresh_font_cache() -> bool:
    """Add the system's CJK font files (:func:`system_cjk_fonts`) to matplotlib's font manager
    and rewrite its cache file, so later runs find them without a rescan.

    Returns
    -------
    bool
        Whether a font was added.
    """
    manager = font_manager.fontManager
    known = {f.fname for f in manager.ttflist}
    added = False
    for path in system_cjk_fonts():
        if path in known:
            continue
        try:
            manager.addfont(path)
        except (OSError, RuntimeError, ValueError):  # unreadable or not a font FreeType opens
            continue
        added = True
    if added:
        cache_file = Path(matplotlib.get_cachedir(),
                          f"fontlist-v{font_manager.FontManager.__version__}.json")
        # a read-only cache directory: the fonts still serve this process
        with contextlib.suppress(OSError):
            font_manager.json_dump(manager, cache_file)
    return added


def figure_rc(lang: str) -> tuple[str, dict[str, object]]:
    """The language figures can be labelled in, and matplotlib settings for it.

    Parameters
    ----------
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    (str, dict)
        ``lang``, or ``"en"`` with a warning when Chinese was asked for and no CJK font is
        installed; and an ``rc_context`` mapping choosing the font.
    """
    family = cjk_family()
    if lang == "zh" and family is None:
        warnings.warn("no CJK font found (install fonts-noto-cjk); figures are labelled in "
                      "English", stacklevel=3)
        lang = "en"
    families = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    return lang, {"font.family": families, "axes.unicode_minus": False}
