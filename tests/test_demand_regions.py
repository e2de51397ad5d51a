"""Census age shares by region (seeds/demand.yaml): the published 0-14 shares, and school-age
shares that split exactly each region's 0-14 share by the national single-age split."""

from __future__ import annotations

import pytest

from lifecircle.seeds.demand import demand_seed, demand_settings

SCHOOL_AGES = ("childcare", "kindergarten", "primary_school", "middle_school")


def test_published_shares_of_the_seventh_census():
    regions = demand_seed()["regions"]
    # 第七次全国人口普查: national bulletin No. 5; Sichuan, Chongqing, Chengdu bulletins
    assert {name: spec["age_0_14"] for name, spec in regions.items()} == {
        "全国": 0.1795, "四川省": 0.1610, "重庆市": 0.1591, "成都市": 0.1328}
    assert regions["成都市"]["parent"] == "四川省"
    assert regions["全国"]["age_0_14"] == pytest.approx(253383938 / 1409778724, abs=5e-4)


@pytest.mark.parametrize("region", ["全国", "四川省", "重庆市", "成都市"])
def test_school_ages_split_the_regions_children(region):
    spec = demand_seed()["regions"][region]
    shares = spec["shares"]
    children = spec.get("split_basis_0_14", spec["age_0_14"])
    # the four bands cover ages 0-14 exactly once: their sum is the 0-14 share (4 roundings)
    assert sum(shares[k] for k in SCHOOL_AGES) == pytest.approx(children, abs=2e-4)
    # national split of 0-14: 0-2 0.1672, 3-5 0.2114, 6-11 0.4195, 12-14 0.2019
    for kind, part in zip(SCHOOL_AGES, (0.1672, 0.2114, 0.4195, 0.2019), strict=True):
        assert shares[kind] == pytest.approx(children * part, abs=6e-5), kind


def test_national_region_equals_the_kind_defaults():
    seed = demand_seed()
    for kind in SCHOOL_AGES:
        assert seed["regions"]["全国"]["shares"][kind] == seed["kinds"][kind]["share"]
    assert demand_settings().kinds["childcare"].capacity_unit == "places"
