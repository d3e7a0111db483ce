"""AppTest: the draw pages apply the draw rules of pipelines.draws — the 监督人 requirement (one
function for every page), coverage and the district scope computed in SQL."""

from __future__ import annotations

import pytest
from test_pages_draws import built as built  # the module's city-year, as a fixture here
from test_pages_draws import copy_of, errors, page, records_of

from pipelines.draws.engine import SUPERVISOR_NEEDED


@pytest.fixture
def db(built, tmp_path):
    return copy_of(built, tmp_path)


FREEZE = {
    "meeting_draw": (None, "md-supervisor", "md-freeze"),
    "spot_check": (None, "sc-supervisor", "sc-freeze"),
    "review": ("季度复核抽取", "rv-supervisor", "rv-freeze"),
}


@pytest.mark.parametrize("name", list(FREEZE))
@pytest.mark.parametrize("typed", ["  ", "监督人未填写"])
def test_every_draw_page_refuses_to_freeze_without_a_witness(db, name, typed):
    section, field, button = FREEZE[name]
    at = page(db, name)
    if section:
        at.radio(key="rv-section").set_value(section).run()
    at.text_input(key=field).set_value(typed)
    at.button(key=button).click().run()
    assert not at.exception
    assert errors(at) == [SUPERVISOR_NEEDED]
    assert records_of(at) == []
