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


def drawn_meeting(db, n: int = 3):
    """双随机抽取 with n experts drawn (nothing revealed yet), witnessed by 王纪检."""
    at = page(db, "meeting_draw")
    at.selectbox(key="md-specialty").set_value("心血管内科")
    at.number_input(key="md-n").set_value(n)
    at.text_input(key="md-supervisor").set_value("王纪检")
    at.button(key="md-freeze").click().run()
    at.text_input(key="md-seed").set_value("48213907561239847702")
    at.button(key="md-lock").click().run()
    assert not at.exception and not errors(at)
    return at


def screen_html(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html") if "scr-name" in h.proto.body)


def test_projector_shows_one_pick_a_screen_with_the_witness_and_no_forms(db):
    at = drawn_meeting(db)
    picks = records_of(at)[-1].pick_list()
    at.button(key="md-projector-on").click().run()
    assert not at.exception
    shown = screen_html(at)
    assert shown.count("class='scr-name") == 1
    assert picks[0].id in shown and picks[1].id not in shown
    assert "监督人" in shown and "王纪检" in shown
    assert not at.title  # no page title: the screen is the projector's
    keys = {w.key for w in [*at.button, *at.text_input] if w.key.startswith("md-")}
    assert keys == {"md-prev", "md-next", "md-projector-off"}  # no redraw/replacement form
    at.button(key="md-next").click().run()
    shown = screen_html(at)
    assert picks[1].id in shown and picks[0].id not in shown and "第 2 位 / 共 3 位" in shown
    at.button(key="md-prev").click().run()
    assert picks[0].id in screen_html(at)
    at.button(key="md-projector-off").click().run()
    assert at.title and "md-projector-on" in {b.key for b in at.button}
    assert at.session_state["md-revealed"] == 2  # what the screen showed stays revealed
