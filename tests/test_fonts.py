"""Matplotlib's font cache refreshed when a CJK font was installed after it was made."""

from __future__ import annotations

import copy

import pytest
from matplotlib import font_manager

from lifecircle.maps import fonts


@pytest.fixture
def empty_manager(monkeypatch, tmp_path):
    """A font manager that knows no font (as a cache made before fonts-noto-cjk), with its
    cache file written under tmp_path."""
    manager = copy.copy(font_manager.fontManager)
    manager.ttflist, manager.afmlist = [], []
    monkeypatch.setattr(font_manager, "fontManager", manager)
    monkeypatch.setattr(fonts.matplotlib, "get_cachedir", lambda: str(tmp_path))
    fonts.cjk_family.cache_clear()
    yield manager
    fonts.cjk_family.cache_clear()


def test_stale_cache_is_refreshed_from_fontconfig(empty_manager, tmp_path):
    files = fonts.system_cjk_fonts()
    if not files:
        pytest.skip("fontconfig lists no CJK font here (Debian: apt-get install fonts-noto-cjk)")
    assert fonts._known_family() is None
    family = fonts.cjk_family()
    assert family in fonts.CJK_FAMILIES
    assert {f.fname for f in empty_manager.ttflist} == set(files)
    assert list(tmp_path.glob("fontlist-v*.json"))  # the cache was rewritten
    lang, rc = fonts.figure_rc("zh")
    assert lang == "zh" and rc["font.family"][0] == family


def test_no_cjk_font_anywhere_falls_back_to_english(empty_manager, monkeypatch, tmp_path):
    monkeypatch.setattr(fonts.shutil, "which", lambda _name: None)  # no fontconfig
    assert fonts.system_cjk_fonts() == []
    assert fonts.cjk_family() is None
    assert not list(tmp_path.glob("fontlist-v*.json"))
    with pytest.warns(UserWarning, match="fonts-noto-cjk"):
        assert fonts.figure_rc("zh")[0] == "en"
