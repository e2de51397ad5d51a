"""Outputs safe to open: CSV cells that a spreadsheet would run as formulas are escaped."""

from __future__ import annotations

import pandas as pd

from lifecircle.cli import main
from lifecircle.output import write_csv
from tests.osm_fixture import LAT0, LON0, write_small_osm


def test_formula_cells_are_escaped_numbers_kept(tmp_path):
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+1", "-cmd", "@SUM(A1)",
                                   "\tx", "公园"], "value": [1.0, -2.0, 3.0, 4.0, 5.0, 6.0]})
    write_csv(tmp_path / "t.csv", frame)
    back = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig", keep_default_na=False)
    assert back["name"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1", "'-cmd", "'@SUM(A1)",
                                     "'\tx", "公园"]
    assert back["value"].tolist() == [1.0, -2.0, 3.0, 4.0, 5.0, 6.0]  # negative numbers stay


def test_a_facility_named_like_a_formula_is_text_in_facilities_csv(tmp_path):
    osm = write_small_osm(tmp_path / "area.osm")
    csv = tmp_path / "f.csv"
    csv.write_text(f"kind,name,lon,lat\nhealth_centre,=HYPERLINK(\"http://evil\"),{LON0},{LAT0}\n",
                   encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--osm", str(osm), "--residential-density", "100", "--facilities",
                 str(csv), "--no-osm-facilities", "--kinds", "health_centre", "--no-figures",
                 "--no-report", "--out", str(out)]) == 0
    table = pd.read_csv(out / "facilities.csv", encoding="utf-8-sig")
    assert table["name"].tolist() == ["'=HYPERLINK(\"http://evil\")"]
