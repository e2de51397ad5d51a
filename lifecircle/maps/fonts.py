"""A CJK font for matplotlib (Noto Sans CJK from Debian's fonts-noto-cjk), or English labels."""

from __future__ import annotations

import warnings
from functools import cache

from matplotlib import font_manager

#: Families tried in order; the first one matplotlib's font manager knows is used.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC")


@cache
def cjk_family() -> str | None:
    """The first of ``CJK_FAMILIES`` installed, else None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


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
