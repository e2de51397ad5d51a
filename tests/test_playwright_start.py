"""playwright's driver (Node) started with Node's compile cache in lifecircle's cache folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lifecircle.maps.screenshot import NODE_CACHE, driver_compile_cache, start_playwright


def _cache_files(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")
            if p.is_file()}


@pytest.fixture
def cache_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NODE_COMPILE_CACHE", raising=False)
    return tmp_path / "cache"


def test_the_driver_is_compiled_once_then_read(cache_home):
    pytest.importorskip("playwright.sync_api")
    start_playwright().stop()
    assert "NODE_COMPILE_CACHE" not in os.environ  # set only while the driver was spawned
    first = _cache_files(cache_home / NODE_CACHE)
    assert first and sum((cache_home / NODE_CACHE / f).stat().st_size for f in first) > 100_000
    start_playwright().stop()
    assert _cache_files(cache_home / NODE_CACHE) == first  # read back, nothing compiled again


def test_a_callers_own_node_cache_stands(cache_home, tmp_path, monkeypatch):
    pytest.importorskip("playwright.sync_api")
    theirs = tmp_path / "theirs"
    monkeypatch.setenv("NODE_COMPILE_CACHE", str(theirs))
    start_playwright().stop()
    assert os.environ["NODE_COMPILE_CACHE"] == str(theirs)
    assert _cache_files(theirs) and not (cache_home / NODE_CACHE).exists()


def test_no_cache_where_the_folder_cannot_be_made(cache_home):
    cache_home.parent.mkdir(parents=True, exist_ok=True)
    cache_home.write_text("a file where the cache folder would go", encoding="utf-8")
    with driver_compile_cache() as folder:
        assert folder is None and "NODE_COMPILE_CACHE" not in os.environ
    assert cache_home.read_text(encoding="utf-8").startswith("a file")
