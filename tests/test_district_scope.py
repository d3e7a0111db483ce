"""What a 区县监管 user gets of city-wide draws (issue 15, item 4)."""

from __future__ import annotations

import pytest
import test_pages_draws as draws
from test_pages_draws import Q3, SEED, page

from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.draws import spot_check

built = draws.built  # the same module-scoped city-year


@pytest.fixture
def db(built, tmp_path):
    return draws.copy_of(built, tmp_path)


def _draw(path) -> None:
    c = connect(path)
    spot_check(c, *Q3, "10%", SEED, load_profile("zhengzhou"))
    c.close()


def test_a_district_user_gets_no_city_wide_parameters_in_the_audit_log(db):
    _draw(db)
    city = page(db, "audit_log")
    assert any(e.label.startswith("全部参数") for e in city.expander)
    district = page(db, "audit_log", "区县监管")
    labels = [e.label for e in district.expander]
    assert not [x for x in labels if x.startswith(("全部参数", "不作为候选"))], labels
    assert "仅市级用户可见" in " ".join(c.value for c in district.caption)


def test_the_published_lists_say_they_are_city_wide(db):
    _draw(db)
    at = page(db, "spot_check", "区县监管")
    labels = {b.label for b in at.get("download_button")}
    assert {"下载全市公示候选名单 (CSV，一公开)", "下载全市公示抽取结果 (CSV，一公开)"} <= labels
