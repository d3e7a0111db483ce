"""AppTest: the draw pages apply the draw rules of pipelines.draws — the 监督人 requirement (one
function for every page), coverage and the district scope computed in SQL."""

from __future__ import annotations

import pytest
from test_pages_draws import Q3, SEED, copy_of, errors, page, records_of
from test_pages_draws import built as built  # the module's city-year, as a fixture here

from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.draws import appraise, findings, spot_check
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


def spot_checked(db, role: str):
    """A 2026Q3 spot check drawn through pipelines, opened on 抽查 by `role`."""
    c = connect(db)
    res = spot_check(c, *Q3, "10%", SEED, load_profile("zhengzhou"), supervisor="王纪检")
    jinshui = {
        r[0]
        for r in c.execute(
            "select hospital_id from stg_hospitals where district = '金水区'"
        ).fetchall()
    }
    c.close()
    at = page(db, "spot_check", role)
    at.radio(key="sc-mode").set_value("查看已有抽查").run()
    at.selectbox(key="sc-pick").set_value(res.draw_id).run()
    assert not at.exception and not errors(at)
    return at, res, jinshui


def table(at, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_a_district_user_sees_only_the_district_in_every_table(db, monkeypatch):
    fetched = []  # (query, district, hospitals of the rows DuckDB returned)
    real = findings._query

    def spy(con, draw_id, name, params, tables=None):
        out = real(con, draw_id, name, params, tables)
        column = "医院编码" if "医院编码" in out.column_names else "hospital_id"
        fetched.append((name, params.get("district"), set(out[column].to_pylist())))
        return out

    monkeypatch.setattr(findings, "_query", spy)
    monkeypatch.setattr(appraise, "_query", spy)  # appraise holds its own name for it
    at, res, jinshui = spot_checked(db, "区县监管")
    names = {f[0] for f in fetched}
    assert {"draw_retrieval_list", "draw_findings_summary", "draw_appraise_strata"} <= names
    assert all(d == "金水区" and rows <= jinshui for _, d, rows in fetched), fetched
    drawn = {p.hospital_id for p in res.picks}
    assert drawn - jinshui  # the draw has other districts' hospitals …
    coverage = table(at, "达到比例")
    assert set(coverage["医院编码"]) == drawn & jinshui  # … the page shows none of them
    assert set(table(at, "密钥")["医院编码"]) == drawn & jinshui
    assert coverage["抽取件数"].sum() == sum(p.hospital_id in jinshui for p in res.picks)


def test_spot_check_shows_no_raw_values_and_amounts_with_separators(db):
    at, res, _ = spot_checked(db, "市级监管")
    listing = table(at, "密钥")
    assert len(listing) == len(res.picks)
    assert not listing.isna().any().any()  # 抽查结论/追回金额/备注 blank, never "None"
    editor = next(
        df
        for df in at.dataframe
        if "追回金额" in df.value.columns and "密钥" not in df.value.columns
    )
    assert '"%,.2f"' in editor.proto.columns  # 1,200.50, not 1200.50
