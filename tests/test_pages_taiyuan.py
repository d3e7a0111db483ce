"""The Taiyuan pages through AppTest: the sidebar, 认定时效与专家组 and 处理决定 (TY-PENALTY)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import put
from test_review_results import APPEAL_AT, appeal, reviewed
from test_rules_support import TY, _typed, case
from test_ty_marts import AS_OF, taiyuan_world

from dashboard.nav import sections
from pipelines.db import connect
from pipelines.draws import appeal_panel
from pipelines.rules import refresh_marts

from apptest_util import metrics, open_page


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """taiyuan_world with H1 in 小店区 and H2 in 金水区 (the district test user's)."""
    path = tmp_path / "ty.duckdb"
    c = connect(path)
    taiyuan_world(c)
    c.execute("update stg_hospitals set district = if(hospital_id = 'H1', '小店区', '金水区')")
    refresh_marts(c, AS_OF, TY)
    c.close()
    return path


def test_a_case_not_yet_due_is_left_out_of_the_on_time_rate(db):
    """C3 certified 25 May, not entered by 1 June, its 20 working days not over: neither on time
    nor late — H1's rate stays 1 of 2 (kpis.RATES), as on 总览, not 2 of 3."""
    c = connect(db)
    c3 = case("C3", submitted_at="2026-05-20 08:00:00", decided_at="2026-05-25 10:00:00",
              category="定额", outcome="符合", publicity_from="2026-05-26",
              publicity_to="2026-06-01")  # fmt: skip
    put(c, "stg_cases", [_typed(c3)])
    refresh_marts(c, AS_OF, TY)
    c.close()
    at = open_page(db, "ty_measures", profile="taiyuan")
    assert not at.exception and metrics(at)["定额认定病例"] == "3"
    h1 = at.dataframe[0].value.set_index("医院编码").loc["H1"]
    assert (h1["认定周期及时率"], h1["重新认定及时率"]) == ("50.0%", "0.0%")


def titles(profile: str) -> set[str]:
    return {title for pages in sections(profile).values() for _f, title, *_ in pages}


def test_the_taiyuan_sidebar_replaces_push_and_strike_pages():
    assert {"认定时效与专家组", "处理决定"} <= titles("taiyuan")
    assert not {"专家时效", "处置台账", "医院考核"} & titles("taiyuan")
    assert {"专家时效", "处置台账", "医院考核"} <= titles("zhengzhou")
    assert not {"认定时效与专家组", "处理决定"} & titles("zhengzhou")


def test_measures_per_hospital_in_the_users_district(db):
    at = open_page(db, "ty_measures", profile="taiyuan")
    assert not at.exception
    m = metrics(at)
    assert (m["定额认定病例"], m["认定周期超时"], m["录入超时"], m["专家组不合规病例"]) == (
        "2",
        "1",
        "1",
        "1",
    )
    h1 = at.dataframe[0].value.set_index("医院编码").loc["H1"]
    assert (h1["认定周期及时率"], h1["重新认定超时"]) == ("50.0%", 1)
    district = open_page(db, "ty_measures", role="区县监管", profile="taiyuan")
    assert district.dataframe[0].value["医院编码"].tolist() == ["H2"]
    assert metrics(district)["定额认定病例"] == "0"


def test_a_city_user_records_a_sanction_and_its_breach_shows(db):
    at = open_page(db, "ty_sanctions", profile="taiyuan")
    assert not at.exception and metrics(at)["全部处理决定"] == "0"
    # no sanction yet: a Chinese line, not Streamlit's grid with its English "empty"
    assert "暂无记录。" in [c.value for c in at.caption]
    assert not [d for d in at.dataframe if "处理措施" in d.value.columns]
    at.selectbox(key="sn-type").set_value("hospital").run()
    at.selectbox(key="sn-measure").set_value("取消认定资格")
    at.text_input(key="sn-subject").set_value("H1")
    at.date_input(key="sn-from").set_value("2026-03-05")
    at.text_area(key="sn-reason").set_value("违规认定")
    at.button(key="sn-record").click().run()
    assert not at.exception
    assert "已记录处理决定 SN-" in at.success[0].value.replace("\\", "")
    assert metrics(at)["在执行"] == "1"
    assert [d for d in at.dataframe if "处理措施" in d.value.columns]
    c = connect(db)
    try:
        found = c.execute(
            "select case_id from mart_violations where rule_id = 'TY-PENALTY' order by case_id"
        ).fetchall()
    finally:
        c.close()
    assert found == [("C1",), ("C2",)]  # both decided on 5 March, the revocation's first day


@pytest.mark.parametrize("role", ["区县监管", "只读审计"])
def test_other_roles_see_but_cannot_record(db, role):
    at = open_page(db, "ty_sanctions", role=role, profile="taiyuan")
    assert not at.exception
    assert not [b for b in at.button if b.key == "sn-record"]
    assert "不能记录" in at.info[0].value


@pytest.fixture
def review_db(tmp_path: Path) -> Path:
    """The 2026Q3 review with findings (test_review_results), H2's appeal decided 符合 by
    majority, H3's appeal panel drawn and not yet decided."""
    path = tmp_path / "rv.duckdb"
    c = connect(path)
    _, picks = reviewed(c, tmp_path)
    appeal(c, picks["H2"][0], ["符合", "不符合", "符合"])
    appeal_panel(c, picks["H3"][0], "2718", APPEAL_AT, TY)
    c.close()
    return path


def results_page(db: Path, role: str = "市级监管"):
    at = open_page(db, "review", role=role, profile="taiyuan")
    at.radio(key="rv-section").set_value("复核结果与公示").run()
    assert not at.exception
    return at


def results(at):
    return next(d.value for d in at.dataframe if "申诉成立" in d.value.columns)


def test_review_results_page_and_an_appeal_decided_on_it(review_db):
    at = results_page(review_db)
    table = results(at).set_index("医院编码")
    assert table.loc["H2", ["符合", "不符合", "申诉病例数", "申诉成立"]].tolist() == [2, 0, 1, 1]
    assert table.loc["H3", ["不符合", "申诉病例数"]].tolist() == [1, 0]
    assert not {"姓名", "身份证号"} & set(table.columns)
    panel = at.selectbox(key="rv-af-panel").options[0]  # newest first: H3's panel
    assert panel.startswith("AP-")
    at.text_input(key="rv-af-reason").set_value("二次复核")
    at.button(key="rv-af-record").click().run()
    assert not at.exception
    assert "二次复核结论：符合" in at.success[0].value  # three 符合 by default
    table = results(at).set_index("医院编码")
    assert table.loc["H3", ["符合", "不符合", "申诉病例数", "申诉成立"]].tolist() == [1, 0, 1, 1]


def test_a_district_user_sees_the_results_without_the_forms(review_db):
    at = results_page(review_db, role="区县监管")
    assert not at.exception
    # no hospital in 金水区: a Chinese line instead of an empty grid
    assert not [d for d in at.dataframe if "申诉成立" in d.value.columns]
    assert "暂无记录。" in [c.value for c in at.caption]
    assert not [b for b in at.button if b.key in ("rv-import", "rv-af-record")]
