"""map.html in headless Chromium: loads offline without errors, holds every layer with the right
feature counts, shows the scorecard, and screenshots to a picture that is not blank.

Runs on the Chengdu output folder as ``lifecircle run`` writes it, and on a copy completed with
fixture layers (tests/test_maps.py ``augment``) so every layer of the folder contract is drawn.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecircle.maps import screenshot, write_map
from lifecircle.maps.screenshot import CHROMIUM, launch_chromium
from tests.browser_helpers import count_layers_js
from tests.test_maps import augment, expected_layers, read_layer, run_chengdu

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip(f"headless Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

# Leaf layers of every named group: markers (facilities) and paths (polygons), and whether the
# group is on the map.
COUNT_JS = count_layers_js("layers")

# Show or hide the residential layer (returns nothing: a Leaflet map does not serialise).
TOGGLE_JS = "(method) => { window.lifecircle.map[method](window.lifecircle.layers.residential); }"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    run = run_chengdu(tmp_path_factory)
    full = augment(run, tmp_path_factory.mktemp("browser") / "full")
    for folder in (run, full):
        write_map(folder)
    return {"run": run, "full": full}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", params=["run", "full"])
def loaded(request, folders, browser):
    """The map page of one folder, opened, with every request and console error recorded."""
    folder = folders[request.param]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((folder / "map.html").resolve().as_uri(), wait_until="load")
    page.wait_for_function("() => window.lifecircle && window.lifecircle.map._loaded")
    yield folder, page, requests, errors
    page.close()


def test_loads_offline_without_errors(loaded):
    folder, page, requests, errors = loaded
    assert errors == []
    assert requests, "no request recorded at all"
    outside = [u for u in requests if not u.startswith(("file://", "data:"))]
    assert outside == [], f"requests outside file://: {outside[:5]}"
    assert page.evaluate("() => window.lifecircle.map instanceof L.Map")
    attribution = page.inner_text(".leaflet-control-attribution")
    assert "OpenStreetMap contributors" in attribution and "人口" in attribution
    assert page.is_visible(".leaflet-control-scale")
    assert page.is_visible(".leaflet-control-layers")


def test_layers_have_the_geopackage_feature_counts(loaded):
    folder, page, _, _ = loaded
    counts = page.evaluate(COUNT_JS)
    expected = expected_layers(folder)
    assert set(counts) == set(expected)
    facilities = read_layer(folder, "facilities")
    polygons = facilities[facilities.geom_type.isin(["Polygon", "MultiPolygon"])]
    for layer_id, n in expected.items():
        got = counts[layer_id]
        if layer_id.startswith("facilities:"):
            kind = layer_id.split(":", 1)[1]
            assert got["markers"] == n, layer_id
            assert got["paths"] == int((polygons["kind"] == kind).sum()), layer_id
        else:
            assert (got["markers"], got["paths"]) == (0, n), layer_id
    assert counts["population"]["shown"]
    assert counts["facilities:primary_school"]["shown"]


def test_uncovered_land_is_hatched_when_shown(loaded):
    folder, page, _, _ = loaded
    if "residential" not in expected_layers(folder):
        pytest.skip("this folder has no residential layer")
    land = read_layer(folder, "residential")
    legend = page.locator('#lc-legend [data-layers="residential"]')
    assert not legend.is_visible()  # hidden with its layer (parks are not the chosen kind)
    page.evaluate(TOGGLE_JS, "addLayer")
    assert legend.is_visible()
    assert page.locator("path.lc-hatch").count() == int((~land["covered"].astype(bool)).sum())
    fill = page.evaluate("() => getComputedStyle(document.querySelector('path.lc-hatch')).fill")
    assert "lc-hatch" in fill
    page.evaluate(TOGGLE_JS, "removeLayer")


def test_scorecard_panel(loaded):
    folder, page, _, _ = loaded
    assert page.is_visible("#lc-scorecard")
    assert page.is_visible("#lc-legend")
    park = page.locator('#lc-targets tr[data-metric="park_service_radius_coverage"]')
    if folder.name == "full":
        assert park.count() == 1 and park.is_visible()
        row = park.inner_text()
        assert "86.0%" in row and "62.0%" in row and "未达标" in row
        assert "lc-not-met" in park.get_attribute("class")
    elif park.count():
        assert park.first.is_visible() and "86.0%" in park.first.inner_text()


def test_screenshot_is_not_blank(folders, tmp_path):
    from PIL import Image

    png = screenshot(folders["full"] / "map.html", tmp_path / "map.png", width=1000, height=700)
    with Image.open(png) as image:
        assert image.size == (1000, 700)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colours) > 500, f"only {len(colours)} colours: blank page?"


# -- the scorecard panel in both languages, with the many targets of a Sichuan run -------------

DOCS = Path(__file__).resolve().parents[1] / "docs"

# Per panel: whether its content overflows it, its table's cells that overflow themselves or
# stick out of the panel, the narrowest indicator cell, and the panels' rectangles.
PANEL_JS = """() => {
  const card = document.querySelector('#lc-scorecard');
  const legend = document.querySelector('#lc-legend');
  const box = card.getBoundingClientRect();
  const rect = (r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  const cells = [...card.querySelectorAll('#lc-targets td, #lc-targets th')];
  return {
    scrollWidth: card.scrollWidth, clientWidth: card.clientWidth,
    outside: cells.filter((c) => c.getBoundingClientRect().right > box.right + 0.5)
                  .map((c) => c.innerText),
    overflowing: cells.filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.innerText),
    indicator: Math.min(...[...card.querySelectorAll('#lc-targets td:first-child')]
                             .map((c) => c.getBoundingClientRect().width)),
    rows: card.querySelectorAll('#lc-targets tbody tr').length,
    card: rect(box), legend: rect(legend.getBoundingClientRect()),
  };
}"""


@pytest.fixture(scope="module")
def region_maps(tmp_path_factory) -> dict[str, Path]:
    """A Chengdu run scored against Sichuan's targets; its map in Chinese and in English."""
    import shutil

    from lifecircle.cli import main
    from tests.test_maps import CHENGDU_PBF

    out = tmp_path_factory.mktemp("region") / "sichuan"
    assert main(["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400",
                 "--region", "四川", "--no-figures", "--out", str(out)]) == 0
    pages = {}
    for lang in ("zh", "en"):
        write_map(out, lang=lang)
        pages[lang] = shutil.copy(out / "map.html", out / f"map-{lang}.html")
    return pages


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_targets_panel_fits(region_maps, browser, lang, size):
    width, height = size
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(Path(region_maps[lang]).resolve().as_uri(), wait_until="load")
    page.wait_for_function("() => window.lifecircle && window.lifecircle.map._loaded")
    got = page.evaluate(PANEL_JS)
    if width == 1280:
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / f"map-{lang}-1280.png"))
    page.close()
    assert got["rows"] >= 10  # Sichuan's and the national targets
    assert got["scrollWidth"] <= got["clientWidth"]
    assert got["outside"] == []
    assert got["overflowing"] == []
    # the indicator keeps room for words: ten 12 px characters, not one word a line
    assert got["indicator"] >= 100
    card, legend = got["card"], got["legend"]
    apart = (legend["top"] >= card["bottom"] or legend["bottom"] <= card["top"]
             or legend["left"] >= card["right"] or legend["right"] <= card["left"])
    assert apart, (card, legend)
