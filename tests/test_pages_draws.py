"""AppTest: the draw pages (抽查, 双随机抽取, 季度复核, 审计日志) call pipelines.draws and show
exactly what it draws; the digest comes before the seed; read-only roles cannot draw."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.draws import load_records, review_plan, spot_check, verify_log
from pipelines.draws.review import parse_quarter
from pipelines.ingest import ingest
from pipelines.rules import refresh_marts
from sample_generator.core import DEFAULT_END, generate

from apptest_util import APP, ROLE_USERS, open_page

SEED = "48213907561239847702"
Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A small city-year (2,000 cases) ingested and with marts, never opened by a page."""
    d = tmp_path_factory.mktemp("draw_pages")
    generate(cases=2000, seed=20261122, out=d / "in")
    c = connect(d / "built.duckdb")
    ingest(c, [d / "in"], log=lambda _m: None)
    refresh_marts(
        c, dt.datetime.combine(DEFAULT_END, dt.time(23, 59, 59)), load_profile("zhengzhou")
    )
    c.close()
    return d / "built.duckdb"


def copy_of(built: Path, tmp_path: Path, name: str = "w.duckdb") -> Path:
    target = tmp_path / name
    shutil.copy(built, target)
    return target


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    """A fresh copy per test: the pages write draw records into it."""
    return copy_of(built, tmp_path)


def html_of(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def buttons(at) -> set[str]:
    return {b.key for b in at.button}


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def records_of(at) -> list:
    """The draw_log as the page's own connection sees it (the file is held by that process)."""
    from dashboard.common import _connection

    return load_records(_connection(str(Path(at.session_state["_db"]))).cursor())


def page(db: Path, name: str, role: str = "市级监管"):
    at = open_page(db, name, role)
    at.session_state["_db"] = str(db)
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("name", ["spot_check", "meeting_draw", "review", "audit_log"])
@pytest.mark.parametrize("role", ["市级监管", "只读审计", "区县监管"])
def test_each_draw_page_runs(db, name, role):
    at = page(db, name, role)
    assert not errors(at)


def test_spot_check_digest_first_then_seed_then_the_same_picks_as_the_api(db, built, tmp_path):
    expected = spot_check(
        connect(copy_of(built, tmp_path, "expected.duckdb")),
        *Q3,
        "10%",
        SEED,
        load_profile("zhengzhou"),
    )
    at = page(db, "spot_check")
    at.selectbox(key="sc-quarter").set_value("2026Q3").run()
    assert at.date_input(key="sc-from").value == Q3[0]
    assert at.date_input(key="sc-to").value == Q3[1]
    assert "sc-seed" not in {t.key for t in at.text_input}  # no seed before the freeze
    at.text_input(key="sc-supervisor").set_value("王纪检")
    at.button(key="sc-freeze").click().run()
    assert not at.exception and not errors(at)
    shown = re.sub(r"\s", "", html_of(at))
    assert expected.record.population_digest in shown
    assert f"{expected.record.population_size:,}" in shown
    assert "sc-seed" in {t.key for t in at.text_input}

    at.text_input(key="sc-seed").set_value(SEED)
    at.button(key="sc-draw-go").click().run()
    assert not at.exception and not errors(at)
    assert "sc-seed" not in {t.key for t in at.text_input}  # locked: shown, not editable
    assert [c.value for c in at.code][:2] == [SEED, expected.record.population_digest]
    listing = next(df.value for df in at.dataframe if "密钥" in df.value.columns)
    got = sorted(
        zip(
            listing["医院编码"],
            listing["院内序号"],
            listing["申报编号"],
            listing["密钥"],
            strict=True,
        )
    )
    want = sorted((p.hospital_id, p.rank, p.id, p.key) for p in expected.picks)
    assert got == want
    coverage = next(df.value for df in at.dataframe if "达到比例" in df.value.columns)
    assert set(coverage["达到比例"]) == {"是"}
    assert coverage["抽取件数"].sum() == len(expected.picks)
    kinds = [r.kind for r in records_of(at)]
    assert kinds == ["population_frozen", "spot_check"]


def test_spot_check_rate_below_the_minimum_is_refused(db):
    at = page(db, "spot_check")
    at.number_input(key="sc-rate").set_value(9.5).run()
    assert any("低于" in e and r"10\%" in e for e in errors(at))
    assert "sc-freeze" not in buttons(at)


def test_spot_check_needs_a_supervisor(db):
    at = page(db, "spot_check")
    at.button(key="sc-freeze").click().run()
    assert any("监督人" in e for e in errors(at))
    assert records_of(at) == []


def test_meeting_draw_freeze_seed_reveal_replace_and_the_log(db):
    at = page(db, "meeting_draw")
    at.selectbox(key="md-specialty").set_value("心血管内科")
    at.number_input(key="md-n").set_value(3)
    at.text_input(key="md-supervisor").set_value("王纪检")
    at.button(key="md-freeze").click().run()
    assert not at.exception and not errors(at)
    frozen = records_of(at)[-1]
    assert frozen.kind == "population_frozen"
    assert frozen.seed is None
    shown = html_of(at)
    assert frozen.draw_id in shown
    assert frozen.population_digest[:8] in shown and frozen.population_digest[-8:] in shown
    assert "md-lock" in buttons(at) and "md-reveal" not in buttons(at)

    at.text_input(key="md-seed").set_value(SEED)
    at.button(key="md-lock").click().run()
    assert not at.exception and not errors(at)
    drawn = records_of(at)[-1]
    assert (drawn.kind, drawn.seed, drawn.frozen_id) == ("expert_draw", SEED, frozen.draw_id)
    assert "md-lock" not in buttons(at) and "md-seed" not in {t.key for t in at.text_input}
    assert SEED in html_of(at)
    picks = drawn.pick_list()
    assert len(picks) == 3
    assert picks[0].id not in html_of(at)  # nothing revealed yet
    for i in range(3):
        at.button(key="md-reveal").click().run()
        assert picks[i].id in html_of(at)
        assert all(p.id not in html_of(at) for p in picks[i + 1 :])
    assert "md-reveal" not in buttons(at)

    at.selectbox(key="md-out").set_value(picks[1].id)
    at.button(key="md-replace").click().run()
    assert any("原因" in e for e in errors(at))  # a replacement needs its reason
    at.text_input(key="md-reason-field").set_value("本人因病不能参加")
    at.button(key="md-replace").click().run()
    assert not at.exception and not errors(at)
    rp = records_of(at)[-1]
    assert rp.kind == "replacement" and rp.parent_id == drawn.draw_id
    assert rp.replacement_list() == [
        {"replaced": picks[1].id, "replacement": rp.pick_list()[0].id, "reason": "本人因病不能参加"}
    ]
    shown = html_of(at)
    assert rp.pick_list()[0].id in shown and "本人因病不能参加" in shown
    assert [r.kind for r in records_of(at)] == ["population_frozen", "expert_draw", "replacement"]
    assert verify_log(_con(at)).ok


def test_meeting_redraw_needs_a_reason_and_is_a_new_record(db):
    at = page(db, "meeting_draw")
    at.text_input(key="md-supervisor").set_value("王纪检")
    at.button(key="md-freeze").click().run()
    at.text_input(key="md-seed").set_value("1")
    at.button(key="md-lock").click().run()
    while "md-reveal" in buttons(at):
        at.button(key="md-reveal").click().run()
    at.text_input(key="md-redraw-seed").set_value("2")
    at.button(key="md-redraw").click().run()
    assert any("原因" in e for e in errors(at))
    assert [r.kind for r in records_of(at)] == ["population_frozen", "expert_draw"]
    at.text_input(key="md-redraw-reason").set_value("种子录入时漏了一位，监督人要求重抽")
    at.button(key="md-redraw").click().run()
    recs = records_of(at)
    assert [r.kind for r in recs] == ["population_frozen", "expert_draw", "expert_draw"]
    assert (recs[2].seed, recs[2].reason) == ("2", "种子录入时漏了一位，监督人要求重抽")
    assert recs[1].seed == "1"  # the first draw stays as it was


def _con(at) -> duckdb.DuckDBPyConnection:
    from dashboard.common import _connection

    return _connection(at.session_state["_db"]).cursor()


@pytest.mark.parametrize("name", ["spot_check", "meeting_draw", "review"])
def test_read_only_audit_cannot_draw(db, name):
    at = page(db, name, "只读审计")
    assert any("没有抽取权限" in i.value for i in at.info)
    assert not buttons(at) & {"sc-freeze", "md-freeze", "rv-freeze", "rv-appeal-freeze"}
    assert not {t.key for t in at.text_input} & {"sc-supervisor", "md-supervisor", "md-seed"}
    if name == "review":
        for section in ("季度复核抽取", "申诉专家抽取"):
            at.radio(key="rv-section").set_value(section).run()
            assert not at.exception
            assert not buttons(at) & {"rv-freeze", "rv-appeal-freeze", "rv-draw"}
    assert records_of(at) == []


def review_plan_drawn(at) -> None:
    """On 季度复核: freeze 2026Q4's lists and draw its plan with seed 00123."""
    at.radio(key="rv-section").set_value("季度复核抽取").run()
    at.selectbox(key="rv-plan-q").set_value("2026Q4")
    at.text_input(key="rv-supervisor").set_value("王纪检")
    at.button(key="rv-freeze").click().run()
    assert not at.exception and not errors(at)
    assert "rv-seed" in {t.key for t in at.text_input}
    at.text_input(key="rv-seed").set_value("00123")
    at.button(key="rv-draw").click().run()
    assert not at.exception and not errors(at)


def test_review_under_zhengzhou_names_the_taiyuan_profile_in_chinese(db):
    at = page(db, "review")
    said = " ".join(i.value for i in at.info)
    assert "所用配置（太原市）" in said and "taiyuan" not in said


def test_review_plan_counts_have_thousands_separators(db):
    at = page(db, "review")
    review_plan_drawn(at)
    per = next(t for t in at.dataframe if "候选专家数" in t.value.columns)
    assert formats(per, "复核病例数", "抽取专家数", "候选专家数") == {"localized"}
    at.radio(key="rv-section").set_value("复核结果与公示").run()
    assert not at.exception
    results = next(t for t in at.dataframe if "申诉成立" in t.value.columns)
    assert formats(results, "复核病例数", "符合", "不符合", "申诉病例数", "申诉成立") == {
        "localized"
    }


def formats(table, *columns: str) -> set:
    """The number formats the page gave these columns of a table (12,345 is "localized")."""
    cols = json.loads(table.proto.columns)
    return {cols.get(c, {}).get("type_config", {}).get("format") for c in columns}


def test_review_plan_on_the_page_is_review_plan(db, built, tmp_path):
    ty = load_profile("taiyuan")
    expected = review_plan(
        connect(copy_of(built, tmp_path, "expected.duckdb")),
        parse_quarter("2026Q4"),
        "00123",
        dt.datetime.now().replace(microsecond=0),
        ty,
    )
    at = page(db, "review")
    assert any("太原市规则配置" in i.value for i in at.info)  # zhengzhou profile: says what it uses
    assert any(df.value["工作内容"].tolist()[0] == "医院报送复核资料" for df in at.dataframe)
    review_plan_drawn(at)
    plan = next(df.value for df in at.dataframe if "病例医院编码" in df.value.columns)
    got = sorted(zip(plan["申报编号"], plan["专家编码"], strict=True))
    assert got == sorted((a["case_id"], a["expert_id"]) for a in expected.assignments)
    kinds = [r.kind for r in records_of(at)]
    assert kinds == ["population_frozen", "population_frozen", "review_cases", "review_experts"]
    assert all(r.profile == "taiyuan" for r in records_of(at))


def test_appeal_panel_freezes_then_draws_three(db):
    at = page(db, "review")
    at.radio(key="rv-section").set_value("申诉专家抽取").run()
    case = (
        _con(at)
        .execute("select case_id from stg_cases where outcome = '符合' order by case_id limit 1")
        .fetchone()[0]
    )
    at.text_input(key="rv-appeal-case").set_value(case)
    at.text_input(key="rv-appeal-supervisor").set_value("王纪检")
    at.button(key="rv-appeal-freeze").click().run()
    assert not at.exception and not errors(at)
    frozen = records_of(at)[-1]
    assert frozen.kind == "population_frozen" and frozen.population_digest in re.sub(
        r"\s", "", html_of(at)
    )
    at.text_input(key="rv-appeal-seed").set_value(SEED)
    at.button(key="rv-appeal-draw-go").click().run()
    panel = records_of(at)[-1]
    assert panel.kind == "appeal_panel" and len(panel.pick_list()) == 3
    shown = next(df.value for df in at.dataframe if "密钥" in df.value.columns)
    assert shown["专家编码"].tolist() == [p.id for p in panel.pick_list()]


def test_audit_log_shows_records_chain_ok_and_a_broken_link(db, built, tmp_path):
    at = page(db, "meeting_draw")
    at.text_input(key="md-supervisor").set_value("王纪检")
    at.button(key="md-freeze").click().run()
    at.text_input(key="md-seed").set_value(SEED)
    at.button(key="md-lock").click().run()
    at = page(db, "audit_log")
    assert any("哈希链校验通过" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert table["随机种子"].tolist()[0] == SEED
    assert set(table["监督人"]) == {"王纪检"}

    tampered = copy_of(built, tmp_path, "tampered.duckdb")
    c = connect(tampered)
    spot_check(c, *Q3, "10%", SEED, load_profile("zhengzhou"), supervisor="王纪检")
    c.execute("update draw_log set seed = '1' where record_no = 2")
    c.close()
    at = page(tampered, "audit_log")
    assert any("哈希链校验失败" in e and "第 2 条记录" in e for e in errors(at))


HOSPITAL_COLUMNS = {"医院编码", "病例医院编码", "医院编号", "医院", "医院名称", "病例医院"}


def test_a_district_user_sees_only_the_district_s_rows_of_the_city_s_draws(db):
    """The city draws for everyone; a 区县监管 user reads only the district's part of it."""
    c = connect(db)
    spot_check(c, *Q3, "10%", SEED, load_profile("zhengzhou"))
    review_plan(
        c, parse_quarter("2026Q4"), "00123", dt.datetime(2026, 11, 20), load_profile("taiyuan")
    )
    ids = {
        r[0]
        for r in c.execute(
            "select hospital_id from stg_hospitals where district = '金水区'"
        ).fetchall()
    }
    names = {
        r[0]
        for r in c.execute(
            "select hospital_name from stg_hospitals where district = '金水区'"
        ).fetchall()
    }
    c.close()
    checked = {}
    for name in ("spot_check", "review"):
        at = page(db, name, "区县监管")
        if name == "review":
            at.radio(key="rv-section").set_value("季度复核抽取").run()
        for df in at.dataframe:
            for col in HOSPITAL_COLUMNS & set(df.value.columns):
                values = set(df.value[col].dropna())
                assert values <= ids | names, (name, col, sorted(values - ids - names)[:5])
                checked[(name, col)] = checked.get((name, col), 0) + len(values)
    assert checked.get(("spot_check", "医院编码"), 0) > 0, checked
    assert checked.get(("review", "病例医院编码"), 0) > 0, checked


def test_spot_check_fields_keep_their_defaults_after_leaving_and_coming_back(db):
    """Streamlit forgets a widget's state on a run that does not draw it: the rate came back 0.0."""
    at = page(db, "spot_check")
    first = {k: at.date_input(key=k).value for k in ("sc-from", "sc-to")}
    assert at.number_input(key="sc-rate").value == 10.0
    at.radio(key="sc-mode").set_value("查看已有抽查").run()
    at.radio(key="sc-mode").set_value("新建抽查").run()
    assert at.number_input(key="sc-rate").value == 10.0
    assert {k: at.date_input(key=k).value for k in ("sc-from", "sc-to")} == first
    at.switch_page("views/home.py").run()
    at.switch_page("views/spot_check.py").run()
    assert at.number_input(key="sc-rate").value == 10.0
    assert {k: at.date_input(key=k).value for k in ("sc-from", "sc-to")} == first
    assert not errors(at)


@pytest.mark.parametrize("kept", [{"sc-quarter"}, {"sc-quarter", "sc-from", "sc-to"}, {"sc-rate"}])
def test_spot_check_field_whose_state_was_dropped_alone_gets_its_default_back(db, kept):
    """A session that still has some of the fields' state but lost the others (as under load)."""
    os.environ["MTB_DB"], os.environ["MTB_PROFILE"] = str(db), "zhengzhou"
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = asdict(ROLE_USERS["市级监管"])
    known = {
        "sc-quarter": "2026Q3",
        "sc-from": dt.date(2026, 7, 1),
        "sc-to": dt.date(2026, 9, 30),
        "sc-rate": 12.0,
    }
    for k in kept:
        at.session_state[k] = known[k]
    at.run()
    at.switch_page("views/spot_check.py").run()
    assert not at.exception, at.exception
    rate = known["sc-rate"] if "sc-rate" in kept else 10.0
    assert at.number_input(key="sc-rate").value == rate
    if "sc-quarter" in kept:
        assert at.selectbox(key="sc-quarter").value == "2026Q3"
        assert at.date_input(key="sc-from").value == dt.date(2026, 7, 1)
        assert at.date_input(key="sc-to").value == dt.date(2026, 9, 30)
