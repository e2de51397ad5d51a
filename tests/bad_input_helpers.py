"""Shared helpers of the bad-input catalogues: run the CLI in-process and check that a bad
input ends in exit code 2, one error line, no traceback and nothing written; small fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

from lifecircle.cli import main
from tests.osm_fixture import DLAT, DLON, LAT0, LON0

# --- the check every case goes through --------------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple[bool, int, int]]:
    """Every path under ``root`` with (is a folder, size, mtime): any write changes it."""
    return {str(p.relative_to(root)): (p.is_dir(), p.stat().st_size if p.is_file() else 0,
                                       p.stat().st_mtime_ns if p.is_file() else 0)
            for p in root.rglob("*")}


def _one_line_error(tmp_path: Path, capsys, argv: list[str], *expected: str) -> str:
    """Run the CLI; exit 2, exactly one error line holding every ``expected`` text, no
    traceback, nothing under ``tmp_path`` created, removed or changed."""
    before = _snapshot(tmp_path)
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2, err
    assert len(errors) == 1, err
    for text in expected:
        assert text in errors[0], err
    assert "Traceback" not in err
    assert _snapshot(tmp_path) == before
    return errors[0]


def _run(osm: Path, out: Path, *extra: str) -> list[str]:
    """Fast run arguments: health centres only, no figures, a modelled population unless given."""
    population = [] if "--population" in extra else ["--residential-density", "100"]
    return ["run", "--osm", str(osm), *population, "--kinds", "health_centre", "--no-figures",
            "--no-report", "--out", str(out), *extra]


def _ok(tmp_path: Path, argv: list[str]) -> dict:
    code = main([str(a) for a in argv])
    assert code == 0
    out = Path(argv[argv.index("--out") + 1])
    return json.loads((out / "scorecard.json").read_text(encoding="utf-8"))


def _node(i: int, lon: str, lat: str, tags: str = "") -> str:
    return f"<node id='{i}' lat='{lat}' lon='{lon}'>{tags}</node>"


def _way(i: int | str, refs, tags: str = "<tag k='highway' v='residential'/>") -> str:
    return f"<way id='{i}'>{''.join(f'<nd ref={chr(39)}{r}{chr(39)}/>' for r in refs)}{tags}</way>"


def _xml(*body: str, head: str = "") -> str:
    return ("<?xml version='1.0' encoding='UTF-8'?>" + head + "<osm version='0.6'>"
            + "".join(body) + "</osm>")


def _write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path



# --- small rasters and vector files


def _tif(path: Path, values, *, crs="EPSG:4326", transform=None, nodata=-99999.0,
         dtype="float64") -> Path:
    values = np.asarray(values, dtype=dtype)
    profile = {"driver": "GTiff", "height": values.shape[0], "width": values.shape[1],
               "count": 1, "dtype": dtype, "nodata": nodata,
               "transform": transform or from_origin(LON0 - 0.001, LAT0 + 0.008, 0.00083,
                                                     0.00083)}
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return path


def _gdf(path: Path, geoms, crs="EPSG:4326", **columns) -> Path:
    columns = columns or {"name": [f"f{i}" for i in range(len(geoms))]}
    gpd.GeoDataFrame(columns, geometry=list(geoms), crs=crs).to_file(path)
    return path


def _area_box() -> shapely.Polygon:
    return shapely.box(LON0 - 0.0005, LAT0 - 0.0005, LON0 + 7 * DLON, LAT0 + 7 * DLAT)
