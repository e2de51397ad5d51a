"""Online tiles are opt-in (``--tiles none|osm|tianditu``): the page holds the tile URL template
and the attribution only when asked; Tianditu's key comes from the environment, is checked
before any work, reaches map.html/sites.html (the browser needs it) and nothing else.

Python never fetches a tile: these tests read the written HTML, offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lifecircle.cli import main
from lifecircle.errors import InputError
from lifecircle.maps import write_map
from lifecircle.maps.tiles import OSM_TILES, TIANDITU_ENV, add_tiles
from tests.osm_fixture import write_small_osm

KEY = "0123456789abcdef-test-key"
TILE_LAYER = re.compile(r'L\.tileLayer\(\s*("(?:[^"\\]|\\.)*"),\s*\{(.*?)\}\s*\)', re.DOTALL)
STRING_OPTION = re.compile(r'"(\w+)": ("(?:[^"\\]|\\.)*")')


def tile_layers(html: str) -> list[dict[str, str]]:
    """Each Leaflet tile layer of a page: its URL template and its string options (decoded)."""
    return [{"url": json.loads(url)} | {k: json.loads(v) for k, v in STRING_OPTION.findall(options)}
            for url, options in TILE_LAYER.findall(html)]


def tile_urls(html: str) -> list[str]:
    return [layer["url"] for layer in tile_layers(html)]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    """A run of the small generated town, no figures or report (the maps are what is read)."""
    base = tmp_path_factory.mktemp("tiles")
    osm = write_small_osm(base / "town.osm")
    out = base / "run"
    assert main(["run", "--osm", str(osm), "--residential-density", "400", "--kinds",
                 "primary_school", "park", "--no-figures", "--no-report", "--out",
                 str(out)]) == 0
    return out


@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv(TIANDITU_ENV, raising=False)


def test_no_tile_layer_by_default(small_run, no_key):
    html = (small_run / "map.html").read_text(encoding="utf-8")
    assert tile_urls(html) == []
    assert "tile.openstreetmap.org" not in html and "tianditu" not in html
    # the offline basemap from the OSM file is drawn instead, shown
    assert re.search(r"window\.lifecircle = \{map: \w+, layers:", html)
    assert '"streets": feature_group_' in html


def test_osm_tiles(small_run, no_key):
    html = write_map(small_run, tiles="osm").read_text(encoding="utf-8")
    (layer,) = tile_layers(html)
    assert layer["url"] == OSM_TILES == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert re.sub("<[^>]+>", "", layer["attribution"]) == "© OpenStreetMap contributors"
    tile = re.search(r"var (tile_layer_\w+) = L\.tileLayer\(", html)
    assert tile and f"{tile[1]}.addTo(" in html  # shown on opening


def test_tianditu_tiles_carry_the_key_from_the_environment(small_run, monkeypatch):
    monkeypatch.setenv(TIANDITU_ENV, KEY)
    with pytest.warns(UserWarning, match="Tianditu key"):
        html = write_map(small_run, tiles="tianditu").read_text(encoding="utf-8")
    layers = tile_layers(html)
    assert [lay["url"].split("/")[3] for lay in layers] == ["vec_w", "cva_w"]
    for tiles, layer in zip(layers, ("vec", "cva"), strict=True):
        url = tiles["url"]
        assert url.startswith(f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?")
        assert f"LAYER={layer}&" in url and "TILEMATRIXSET=w&" in url
        assert "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in url and url.endswith(f"tk={KEY}")
        assert tiles["subdomains"] == "01234567"
        assert "天地图" in tiles["attribution"]
        assert "https://www.tianditu.gov.cn/" in tiles["attribution"]
    assert "tile.openstreetmap.org" not in html


def test_missing_tianditu_key_is_one_line_before_any_work(tmp_path, no_key, capsys):
    osm = write_small_osm(tmp_path / "town.osm")
    out = tmp_path / "out"
    code = main(["run", "--osm", str(osm), "--residential-density", "400", "--tiles",
                 "tianditu", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert TIANDITU_ENV in err and "--tiles tianditu" in err
    assert not out.exists()
    # the map command and the API check it before reading anything
    with pytest.raises(InputError, match=TIANDITU_ENV):
        write_map(tmp_path / "no-such-folder", tiles="tianditu")
    assert main(["map", str(tmp_path / "no-such-folder"), "--tiles", "tianditu"]) == 2
    assert TIANDITU_ENV in capsys.readouterr().err


def test_unknown_tile_source_is_refused(tmp_path):
    assert main(["run", "--osm", "x.osm", "--residential-density", "400", "--tiles", "amap",
                 "--out", str(tmp_path / "o")]) == 2
    with pytest.raises(InputError, match="must be one of"):
        write_map(tmp_path, tiles="amap")


def test_key_only_in_the_pages(tmp_path, monkeypatch, capsys):
    """The run writes the key into map.html (the browser sends it) and nowhere else: not the
    printed configuration, scorecard.json or any other file; the console warns."""
    monkeypatch.setenv(TIANDITU_ENV, KEY)
    osm = write_small_osm(tmp_path / "town.osm")
    out = tmp_path / "out"
    args = ["run", "--osm", str(osm), "--residential-density", "400", "--kinds", "park",
            "--no-figures", "--no-report", "--tiles", "tianditu", "--out", str(out)]
    assert main([*args, "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert "tiles: tianditu" in printed and KEY not in printed
    assert main(args) == 0
    console = capsys.readouterr()
    assert KEY not in console.out + console.err
    assert "map.html holds your Tianditu key" in console.err
    holding = sorted(p.name for p in out.rglob("*") if p.is_file() and KEY.encode() in
                     p.read_bytes())
    assert holding == ["map.html"]
    scorecard = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    assert KEY not in json.dumps(scorecard)


def test_sites_map_tiles(monkeypatch):
    """sites.html takes the same tile layers (built from a hand-made summary, no run)."""
    import folium

    monkeypatch.setenv(TIANDITU_ENV, KEY)
    m = folium.Map(tiles=None)
    with pytest.warns(UserWarning, match="sites.html holds"):
        assert add_tiles(m, "tianditu", "en", page="sites.html")
    html = m.get_root().render()
    assert len(tile_urls(html)) == 2 and "Tianditu" in html
    plain = folium.Map(tiles=None)
    assert not add_tiles(plain, "none", "zh")
    assert tile_urls(plain.get_root().render()) == []
