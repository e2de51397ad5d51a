"""Provenance of the standards table: a figure counts as verified only with the words read.

A row of ``seeds/standards.yaml`` that drops its ``verify:`` note must carry ``quote`` (the words
read in a stored copy of the standard or of a source quoting it) and ``quote_source`` (where they
were read, with its address); otherwise it keeps ``verify:`` or says ``assumption:``. These tests
keep an unread figure from passing for a checked one.
"""

import re

import pytest

from lifecircle.seeds import load_standards

URL = re.compile(r"https?://\S+")


def _quoted(entry: dict, prefix: str = "") -> bool:
    """The entry carries the words read and where they were read (an address)."""
    quote, where = entry.get(f"{prefix}quote"), entry.get(f"{prefix}quote_source")
    return bool(quote) and bool(where) and bool(URL.search(str(where)))


def _state(entry: dict) -> str:
    if entry.get("assumption"):
        return "assumption"
    if entry.get("verify"):
        return "verify"
    return "quoted" if _quoted(entry) else "bare"


@pytest.mark.parametrize("kind", sorted(load_standards()["kinds"]))
def test_every_kind_is_quoted_flagged_or_assumed(kind):
    entry = load_standards()["kinds"][kind]
    assert _state(entry) != "bare", (
        f"{kind}: no quote+quote_source, no verify note, no assumption")
    # a level quote corroborates the circle, never the radius: it does not lift verify alone
    if entry.get("level_quote"):
        assert _quoted(entry, "level_"), kind


@pytest.mark.parametrize("level", [5, 10, 15])
def test_every_circle_population_is_quoted_or_flagged(level):
    entry = load_standards()["level_population"][level]
    assert _state(entry) in ("quoted", "verify"), level
    if _state(entry) == "quoted":
        # the quoted words hold the figures the row uses
        digits = re.sub(r"[,\s]", "", entry["quote"])
        assert str(entry["min"]) in digits and str(entry["max"]) in digits, level


def test_circle_distances_not_read_stay_flagged():
    std = load_standards()
    # only the 10-minute 500 m was read; the others keep their note
    assert "500米" in std["circles_quote"] and URL.search(std["circles_quote_source"])
    assert "300" in std["circles_verify"] and "800~1000" in std["circles_verify"]


def test_park_presets_say_what_was_not_read():
    presets = load_standards()["park_tiers"]["presets"]
    assert presets["gbt50563-2010"]["verify"]
    # the activity-space floors stay assumptions until a tier quotes the indicator's note
    for tier in presets["activity-space-2021"]["tiers"]:
        assert tier.get("assumption") is True or _quoted(tier), tier["name"]
