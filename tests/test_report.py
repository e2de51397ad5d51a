"""The printable report: report.html and report.pdf of the Chengdu run, read back with pdftotext."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lifecircle import notes
from lifecircle.maps.labels import format_value
from lifecircle.maps.screenshot import CHROMIUM, HEADLESS_SHELL
from lifecircle.notes import UNCLASSIFIED_SCHOOLS
from lifecircle.report import pdf as report_pdf
from lifecircle.report import write_report
from tests.test_maps import run_chengdu

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(run_chengdu(tmp_path_factory), out)
    return out


def _pdftotext(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


@pytest.mark.browser
def test_pdf_holds_the_scorecard_figures(folder):
    if not CHROMIUM.exists() or shutil.which("pdftotext") is None:
        pytest.skip("needs /usr/bin/chromium and pdftotext")
    pytest.importorskip("playwright.sync_api")
    html, pdf = write_report(folder)
    assert html == folder / "report.html" and pdf == folder / "report.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
    assert pages >= 2
    assert re.search(r"Page size:\s+595(\.\d+)? x 842", info) or "A4" in info
    # the figures are embedded as JPEG (copies made for printing), not re-deflated PNG pixels
    images = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True,
                            text=True).stdout.splitlines()[2:]
    assert len(images) >= len(list((folder / "figures").glob("*.png")))
    assert {line.split()[8] for line in images} == {"jpeg"}
    assert sorted(p.name for p in (folder / "figures").iterdir()) == sorted(
        p.name for p in (folder / "figures").glob("*.png")), "no JPEG left in figures/"
    text = _pdftotext(pdf)
    card = json.loads((folder / "scorecard.json").read_text(encoding="utf-8"))
    park = card["metrics"]["park_service_radius_coverage"]["value"]
    assert format_value(park, "share", "zh") in text  # e.g. "40.2%", as the scorecard prints it
    assert "86" in text and "≥ 86.0%" in text  # Sichuan's target
    assert "© OpenStreetMap contributors" in text
    assert "四川省" in text and "公园" in text
    # one table row per park of parks.csv: every named park appears
    parks = pd.read_csv(folder / "parks.csv", encoding="utf-8-sig")
    for name in parks["name"].dropna().unique():
        assert name in text.replace("\n", "")
    # pdffonts: the fonts are embedded (a county office may not have Noto)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("yes" in row for row in rows)
    png = subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                          str(pdf), str(folder / "page1")], check=True)
    assert png.returncode == 0
    DOCS.mkdir(exist_ok=True)
    shutil.copy(folder / "page1.png", DOCS / "report-page1.png")


def test_html_lists_over_capacity_catchments_and_parks(folder):
    html, _ = write_report(folder, lang="en", pdf=False)
    page = html.read_text(encoding="utf-8")
    facilities = pd.read_csv(folder / "facilities.csv", encoding="utf-8-sig")
    over = facilities[facilities["over_capacity"].astype(str) == "True"]
    section = page.split('id="catchments"', 1)[1].split("</section>", 1)[0]
    assert section.count("<tr>") - 1 == len(over)  # minus the header row
    unnamed = over[over["name"].isna()]
    assert len(unnamed) > 0  # central Chengdu has unnamed over-capacity facilities
    for fid in unnamed["fid"]:  # named by their OSM object, as the parks are
        kind, number = fid.split("/")
        assert f"Unnamed (OSM {kind} {number})" in section and fid not in section
    parks = pd.read_csv(folder / "parks.csv", encoding="utf-8-sig")
    park_section = page.split('id="parks"', 1)[1].split("</section>", 1)[0]
    assert park_section.count("<tr>") - 1 == len(parks)
    assert "≥ 5,000 m² → 500 m" in park_section
    assert "Scorecard against plan targets" in page and "Park service-radius coverage" in page
    for png in re.findall(r'src="([^"]+\.png)"', page):
        assert (folder / png).is_file()  # images linked relative to the folder


def test_without_chromium_only_html_and_one_warning(folder, monkeypatch):
    (folder / "report.pdf").unlink(missing_ok=True)
    monkeypatch.setattr("lifecircle.report.chromium_missing",
                        lambda: "Chromium not found at /nowhere")
    with pytest.warns(UserWarning, match="report.pdf not written: Chromium not found") as seen:
        html, pdf = write_report(folder)
    assert len(seen) == 1 and pdf is None and html.is_file()
    assert not (folder / "report.pdf").exists()
    assert report_pdf.chromium_missing() in (None, *([] if CHROMIUM.exists() else [
        f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"]))


def test_chinese_report_has_no_english_status(folder):
    html, _ = write_report(folder, pdf=False)
    page = html.read_text(encoding="utf-8")
    scorecard_section = page.split("规划目标对照", 1)[1].split("</table>", 1)[0]
    assert "catalogued, not measured" not in scorecard_section
    assert "已收录，无法用空间数据测算" in scorecard_section and "按假设估算，不作判定" in page
    assert "OSM 文件声明的范围" in page and "bounds declared" not in page


@pytest.mark.browser
def test_a_printer_started_by_the_caller_prints_and_stays_open(folder):
    if not CHROMIUM.exists() or shutil.which("pdftotext") is None:
        pytest.skip("needs /usr/bin/chromium and pdftotext")
    pytest.importorskip("playwright.sync_api")
    (folder / "report.pdf").unlink(missing_ok=True)
    with report_pdf.Printer() as printer:
        _, pdf = write_report(folder, lang="en", printer=printer)
        assert pdf == folder / "report.pdf" and "Scorecard" in _pdftotext(pdf)
        again = printer.print(folder / "report.html", folder / "again.pdf")  # still open
        assert _pdftotext(again) == _pdftotext(pdf)
    _, none = write_report(folder, lang="en", pdf=False, printer=None)
    assert none is None


def test_the_page_carries_the_stylesheet_as_written(folder):
    """The stylesheet goes into <style> unescaped: an escaped quote (&#34;) there is not CSS,
    so the font stack was dropped and each browser fell back to its own default font."""
    html, _ = write_report(folder, pdf=False)
    page = html.read_text(encoding="utf-8")
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    css = (Path(report_pdf.__file__).parent / "templates" / "report.css").read_text(
        encoding="utf-8")
    assert style.strip() == css.strip()
    assert 'font-family: "Noto Sans CJK SC"' in style and "&#34;" not in style


@pytest.mark.browser
def test_the_headless_shell_prints_what_chromium_prints(folder, monkeypatch):
    """report.pdf prints with Debian's chromium-headless-shell when it is installed (half the
    CPU); it must be the same document as the full browser's: text, pages and pixels."""
    if not (CHROMIUM.exists() and HEADLESS_SHELL.exists()) or shutil.which("pdftoppm") is None:
        pytest.skip("needs /usr/bin/chromium, /usr/bin/chromium-headless-shell and poppler")
    pytest.importorskip("playwright.sync_api")
    assert report_pdf.printing_chromium() == HEADLESS_SHELL
    write_report(folder, pdf=False)
    printed = {}
    for browser in (CHROMIUM, HEADLESS_SHELL):
        monkeypatch.setattr(report_pdf, "printing_chromium", lambda browser=browser: browser)
        pdf = report_pdf.print_pdf(folder / "report.html", folder / f"{browser.name}.pdf")
        pictures = folder / f"pages-{browser.name}"  # a folder each: "chromium-*" would also
        pictures.mkdir()  # match the headless shell's pictures
        subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(pictures / "page")],
                       check=True)
        pages = sorted(pictures.glob("page-*.png"))
        printed[browser] = (_pdftotext(pdf), [np.asarray(Image.open(p).convert("L"))
                                              for p in pages])
    (text, pages), (shell_text, shell_pages) = printed[CHROMIUM], printed[HEADLESS_SHELL]
    assert "© OpenStreetMap contributors" in shell_text and shell_text == text
    assert len(pages) >= 2 and len(shell_pages) == len(pages)
    for page, shell_page in zip(pages, shell_pages, strict=True):
        assert page.shape == shell_page.shape
        assert np.abs(page.astype(int) - shell_page).max() <= 8  # anti-aliasing at most


def test_the_run_notes_read_in_the_report_language(folder):
    """scorecard.json keeps its notes in English; the report shows them in its language."""
    card = json.loads((folder / "scorecard.json").read_text(encoding="utf-8"))
    schools = [n for n in card["notes"] if n.endswith(UNCLASSIFIED_SCHOOLS.split("}", 1)[1])]
    assert len(schools) == 1  # central Chengdu has unclassified schools
    count = schools[0].split()[0]
    zh = write_report(folder, pdf=False)[0].read_text(encoding="utf-8")
    assert f"{count} 所 OSM 学校既无学段标签" in zh and "no level tag" not in zh
    en = write_report(folder, lang="en", pdf=False)[0].read_text(encoding="utf-8")
    assert f"{count} OSM schools have no level tag" in en and "primary_school and" not in en


@pytest.mark.parametrize("template", sorted(notes._SHOWN))
def test_every_note_has_both_languages(template):
    fields = {name: f"<{name}>" for name in re.findall(r"\{(\w+)\}", template)}
    note = template.format(**fields)
    for lang in ("zh", "en"):
        shown = notes.note_text(note, lang)
        assert shown == notes._SHOWN[template][lang].format(**fields)
        assert all(value in shown for value in fields.values())
    assert re.search(r"[\u4e00-\u9fff]", notes.note_text(note, "zh"))


def test_the_park_section_says_what_each_coverage_target_still_asks(folder, tmp_path):
    """The residential land a park coverage target still asks for is the scorecard's
    ``to_target_ha`` of that target, flagged as its status says (Sichuan's 86 % is judged on an
    assumed indicator); no target, no line."""
    card = json.loads((folder / "scorecard.json").read_text(encoding="utf-8"))
    asking = [t for t in card["targets"] if t.get("to_target_ha") is not None]
    assert [t["id"] for t in asking] == ["sichuan_park_service_radius_coverage_2028"]
    land = card["metrics"]["park_activity_space_coverage"]
    assert asking[0]["to_target_ha"] == pytest.approx(0.86 * land["residential_ha"]
                                                      - land["covered_ha"])
    zh = write_report(folder, pdf=False)[0].read_text(encoding="utf-8")
    parks = zh.split('id="parks"', 1)[1].split("</section>", 1)[0]
    now = format_value(land["value"], "share", "zh")
    assert (f"≥ 86.0%；现状 {now}，还需覆盖居住用地 {asking[0]['to_target_ha']:,.1f} ha"
            "（按假设估算，不作判定）") in parks
    assert "— ha" not in parks
    # the same folder without that target: the land is said, no line asks for more
    copy = tmp_path / "run"
    shutil.copytree(folder, copy)
    card["targets"] = [t for t in card["targets"] if t not in asking]
    (copy / "scorecard.json").write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    en = write_report(copy, lang="en", pdf=False)[0].read_text(encoding="utf-8")
    parks = en.split('id="parks"', 1)[1].split("</section>", 1)[0]
    assert "Residential land" in parks and "more residential land to cover" not in parks
