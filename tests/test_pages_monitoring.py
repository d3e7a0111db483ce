"""AppTest: the monitoring pages (总览, 专家时效, 医院考核, 规则核查, 劳务费与归档) show the numbers the
rule engine materialised, and a district user sees only the district's rows on every page.

Expected numbers are read from the marts with SQL here, never copied from a page.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.common import num, pct
from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.errors import CalendarGapError
from pipelines.ingest import ingest
from pipelines.rules import refresh_marts
from pipelines.rules.marts import MARTS, drop_mart
from sample_generator import generate
from sample_generator.core import DEFAULT_END

from apptest_util import ROLE_USERS, metrics, open_page

AS_OF = dt.datetime.combine(DEFAULT_END, dt.time(23, 59, 59))
DISTRICT = ROLE_USERS["区县监管"].district  # 金水区
PAGES = ["home", "experts", "hospitals", "violations", "fees"]
STRIKE_CARDS = {
    "sms": "扣分·短信通知",
    "notify_hospital": "扣分·通报医院",
    "disqualify": "扣分·取消资格",
    "after_disqualified": "扣分·取消后再超时",
}


def build_db(d: Path, cases: int = 2000, seed: int = 2) -> Path:
    """Generated data (several districts, strikes up to disqualification), marts as of its end."""
    generate(cases=cases, seed=seed, out=d / "in")
    c = connect(d / "w.duckdb")
    ingest(c, [d / "in"], log=lambda _m: None)
    refresh_marts(c, AS_OF, load_profile("zhengzhou"))
    c.close()
    return d / "w.duckdb"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("monitoring"))


@pytest.fixture
def bare_db(db: Path, tmp_path: Path) -> Path:
    """The same data with no marts computed yet."""
    path = tmp_path / "bare.duckdb"
    shutil.copy(db, path)
    c = duckdb.connect(str(path))
    for name in MARTS:
        drop_mart(c, name)
    c.close()
    return path


def sql(db: Path, statement: str, params: list | None = None) -> pd.DataFrame:
    """Expected values straight from the warehouse (the same in-process database the app uses)."""
    c = duckdb.connect(str(db))
    try:
        return c.execute(statement, params or []).df()
    finally:
        c.close()


def one(db: Path, statement: str, params: list | None = None):
    return sql(db, statement, params).iloc[0, 0]


def frame(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table on the page that has all these columns."""
    for df in at.dataframe:
        if set(columns) <= set(df.value.columns):
            return df.value
    raise AssertionError(f"no table with columns {columns}")


def frames(at: AppTest, *columns: str) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe if set(columns) <= set(df.value.columns)]


def all_time(at: AppTest) -> AppTest:
    at.selectbox(key="f-year").set_value("全部").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


# ---- 总览 ---------------------------------------------------------------------------------


def test_home_kpis_over_all_time_equal_the_marts(db):
    at = all_time(open_page(db, "home"))
    m = metrics(at)
    cases = sql(
        db,
        "select count(*) as n, count(outcome) as decided, "
        "count(*) filter (where outcome = '符合') as approved from fct_cases",
    ).iloc[0]
    tasks = sql(
        db,
        """
        select count(*) filter (where accept_status = 'on_time') as a_on,
               count(*) filter (where accept_status in ('on_time', 'late', 'overdue')) as a_due,
               count(*) filter (where complete_status = 'on_time') as c_on,
               count(*) filter (where complete_status in ('on_time', 'late', 'overdue')) as c_due
        from fct_tasks
        """,
    ).iloc[0]
    assert m["本期申报件数"] == num(cases.n)
    assert m["本期已出结果"] == num(cases.decided)
    assert m["本期鉴定通过率"] == pct(cases.approved / cases.decided)
    assert m["8小时响应按时率"] == pct(tasks.a_on / tasks.a_due)
    assert m["2个工作日办结按时率"] == pct(tasks.c_on / tasks.c_due)
    strikes = dict(sql(db, "select action, count(*) from fct_strikes group by action").values)
    assert strikes.get("disqualify", 0) > 0
    for action, label in STRIKE_CARDS.items():
        assert m[label] == num(strikes.get(action, 0)), label
    assert m["取消资格专家"] == num(one(db, "select count(*) from fct_disqualifications"))
    year = AS_OF.year
    assert m[f"年终考核扣分医院（{year}年）"] == num(
        one(db, "select count(*) from mart_hospital_penalty where year = ? and penalized", [year])
    )
    assert m["差一人即扣分医院"] == num(
        one(
            db,
            "select count(*) from mart_hospital_penalty where year = ? and one_more_penalized",
            [year],
        )
    )
    assert m["规则核查问题"] == num(one(db, "select count(*) from mart_violations"))
    assert m["当前风险任务"] == num(
        one(db, "select count(*) from mart_at_risk where status = 'at_risk'")
    )
    assert m["申报件数"] == num(one(db, "select count(*) from stg_cases"))


def test_home_cards_are_the_totals_of_the_monthly_rows_below(db):
    at = open_page(db, "home")
    assert not at.exception
    assert at.selectbox(key="f-year").value == AS_OF.year
    m = metrics(at)
    monthly = frame(at, "月份", "申报件数", "按时响应")
    assert m["本期申报件数"] == num(monthly["申报件数"].sum())
    assert m["本期申报件数"] == num(
        one(db, "select count(*) from fct_cases where year(submitted_at) = ?", [AS_OF.year])
    )
    assert m["扣分·短信通知"] == num(monthly["扣分·短信通知"].sum())
    assert m["取消资格专家"] == num(monthly["取消资格专家"].sum())
    assert m["当前风险任务"] == num(len(frame(at, "时限", "剩余小时")))
    assert m["规则核查问题"] == num(frame(at, "规则", "问题数")["问题数"].sum())

    at.selectbox(key="f-month").set_value(10).run()
    assert not at.exception
    assert metrics(at)["本期申报件数"] == num(
        one(
            db,
            "select count(*) from fct_cases where submitted_at >= ? and submitted_at < ?",
            [dt.datetime(AS_OF.year, 10, 1), dt.datetime(AS_OF.year, 11, 1)],
        )
    )
    assert frame(at, "月份", "申报件数")["月份"].tolist() == [f"{AS_OF.year}-10"]


def test_home_shows_the_evaluation_time_and_the_calendar_warning_in_november(db):
    at = open_page(db, "home")
    assert any(f"{AS_OF:%Y-%m-%d %H:%M:%S}" in i.value for i in at.info)
    today = dt.date.today()
    last = one(db, "select last_year from calendar_meta")
    expect = today.month >= 11 and last < today.year + 1
    warned = any("calendar_overrides.csv" in w.value for w in at.warning)
    assert warned == expect
    if expect:
        assert any(str(today.year + 1) in w.value for w in at.warning)


def test_missing_marts_are_announced_and_the_button_computes_them(bare_db):
    at = open_page(bare_db, "home")
    assert not at.exception
    assert any("尚未计算" in w.value for w in at.warning)
    assert "本期申报件数" not in metrics(at)
    at.button(key="home-refresh").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("已按" in s.value for s in at.success)
    assert "本期申报件数" in metrics(at)
    assert one(bare_db, "select count(*) from mart_meta") == 1

    for page in ("experts", "hospitals", "violations", "fees"):
        assert not open_page(bare_db, page).exception


def test_other_pages_say_the_marts_are_missing(bare_db):
    for page in ("experts", "hospitals", "violations", "fees"):
        at = open_page(bare_db, page)
        assert not at.exception
        assert any("尚未计算" in w.value for w in at.warning), page


def test_a_calendar_gap_on_recompute_is_shown_plainly(db, monkeypatch):
    def gap(*_args, **_kwargs):
        raise CalendarGapError(2027)

    monkeypatch.setattr("pipelines.rules.refresh_marts", gap)
    at = open_page(db, "home")
    at.button(key="home-refresh").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("2027" in e and r"calendar\_overrides\.csv" in e for e in errors), errors


@pytest.mark.parametrize("role", ["区县监管", "只读审计"])
def test_only_city_roles_that_run_draws_get_the_recompute_button(db, role):
    at = open_page(db, "home", role)
    assert not at.exception
    assert "home-refresh" not in [b.key for b in at.button]


# ---- 专家时效 -----------------------------------------------------------------------------


def test_experts_page_lists_at_risk_tasks_experts_and_action_lists(db):
    at = all_time(open_page(db, "experts"))
    risk = sql(db, "select task_id from mart_at_risk")
    if len(risk):  # 待核实 and at-risk tasks, in two tables
        shown = {t for df in frames(at, "剩余小时", "任务编号") for t in df["任务编号"]}
        assert shown == set(risk.task_id)
    experts = frame(at, "专家编号", "扣分次数", "状态")
    assert len(experts) == one(db, "select count(*) from fct_experts")
    assert experts["扣分次数"].sum() == one(db, "select count(*) from fct_strikes")
    assert (experts["状态"] == "已取消资格").sum() == one(
        db, "select count(*) from fct_disqualifications"
    )
    lists = frames(at, "本年度扣分记录")
    assert len(lists) == 3
    for action, rows in zip(["sms", "notify_hospital", "disqualify"], lists, strict=True):
        expected = sql(db, "select task_id, deadline from fct_strikes where action = ?", [action])
        assert sorted(rows["任务编号"]) == sorted(expected.task_id), action
        assert rows.set_index("任务编号")["时限"].sort_index().tolist() == (
            expected.set_index("task_id")["deadline"].sort_index().tolist()
        )
    # each disqualification row names the three strikes behind it
    for r in lists[2].itertuples():
        behind = sql(
            db,
            "select task_id from fct_strikes where expert_id = ? and strike_year = ? "
            "and strike_no <= 3",
            [r.专家编号, r.年度],
        )
        assert len(behind) == 3
        assert all(t in r.本年度扣分记录 for t in behind.task_id)


def test_experts_timeline_shows_the_expert_tasks_with_strikes_marked(db):
    at = all_time(open_page(db, "experts"))
    expert_id = at.selectbox(key="exp-timeline-expert").value
    tl = frame(at, "扣分", "任务编号", "响应时限")
    assert len(tl) == one(db, "select count(*) from fct_tasks where expert_id = ?", [expert_id])
    marked = tl[tl["扣分"].map(len) > 0]
    assert sorted(marked["任务编号"]) == sorted(
        sql(db, "select task_id from fct_strikes where expert_id = ?", [expert_id]).task_id
    )
    at.toggle(key="exp-timeline-only").set_value(True).run()
    assert len(frame(at, "扣分", "任务编号", "响应时限")) == len(marked)


def test_experts_grid_and_list_show_the_first_rows_and_any_expert_by_id(db, monkeypatch):
    """A province has 20,000 experts: the grid and the list show the first TABLE_ROWS (most
    strikes first), the download all of them, and any expert's timeline is one id away."""
    import dashboard.common

    monkeypatch.setattr(dashboard.common, "TABLE_ROWS", 5)
    at = all_time(open_page(db, "experts"))
    grid = frame(at, "专家编号", "扣分次数")
    everyone = sql(
        db,
        "select x.expert_id, coalesce(s.n, 0) as strikes from fct_experts x "
        "left join (select expert_id, count(*) as n from fct_strikes group by all) s using (expert_id)",
    )
    assert len(grid) == 5 < len(everyone)
    assert grid["扣分次数"].tolist() == sorted(everyone.strikes, reverse=True)[:5]
    assert any(f"显示前 5 名（共 {len(everyone):,} 名）" in c.value for c in at.caption)
    assert len(at.selectbox(key="exp-timeline-expert").options) == 5
    listed = set(grid["专家编号"])
    other = sql(
        db, "select expert_id, count(*) as n from fct_tasks group by all order by expert_id"
    )
    other = other[~other.expert_id.isin(listed)].iloc[0]
    at.text_input(key="exp-timeline-id").set_value(other.expert_id).run()
    assert len(frame(at, "扣分", "任务编号", "响应时限")) == other.n
    at.text_input(key="exp-timeline-id").set_value("NO-SUCH-EXPERT").run()
    assert any(r"没有专家编号为 NO\-SUCH\-EXPERT" in w.value for w in at.warning)


# ---- 医院考核 -----------------------------------------------------------------------------


def test_hospitals_page_shows_the_5_percent_table_and_its_evidence(db):
    at = open_page(db, "hospitals")
    assert not at.exception
    year = AS_OF.year
    expected = sql(
        db,
        "select hospital_id, experts_total, experts_disqualified, ratio, penalized, "
        "one_more_penalized from mart_hospital_penalty where year = ? order by hospital_id",
        [year],
    )
    table = frame(at, "医院编号", "专家总数", "取消资格比例（%）").sort_values("医院编号")
    assert table["医院编号"].tolist() == expected.hospital_id.tolist()
    assert table["专家总数"].tolist() == expected.experts_total.tolist()
    assert table["取消资格比例（%）"].tolist() == [round(float(r) * 100, 1) for r in expected.ratio]
    assert (table["年终考核"] == "扣分").tolist() == expected.penalized.tolist()
    m = metrics(at)
    assert m["扣分医院"] == num(expected.penalized.sum())
    assert m["差一人即扣分医院"] == num(expected.one_more_penalized.sum())

    hospital = at.selectbox(key="hosp-evidence").value
    evidence = frame(at, "专家编号", "取消资格时间", "取消依据")
    n = expected.set_index("hospital_id").loc[hospital, "experts_disqualified"]
    assert evidence["专家编号"].nunique() == n
    strikes = sql(
        db,
        """
        select s.task_id from fct_disqualifications as q
        inner join fct_strikes as s
            on s.expert_id = q.expert_id and s.strike_year = year(q.disqualified_at)
            and s.deadline <= q.disqualified_at
        inner join stg_experts as e on e.expert_id = q.expert_id
        where q.source = 'strike' and e.hospital_id = ? and year(q.disqualified_at) = ?
        """,
        [hospital, year],
    )
    assert sorted(evidence["任务编号"].dropna()) == sorted(strikes.task_id)


# ---- 规则核查 -----------------------------------------------------------------------------


def test_violations_page_counts_each_rule_and_drills_down(db):
    at = all_time(open_page(db, "violations"))
    expected = dict(
        sql(db, "select rule_id, count(*) from mart_violations group by rule_id").values
    )
    by_rule = frame(at, "规则编号", "问题数")
    assert dict(zip(by_rule["规则编号"], by_rule["问题数"], strict=True)) == expected
    assert metrics(at)["问题总数"] == num(sum(expected.values()))
    rule = min(expected, key=lambda r: (expected[r], r))
    at.selectbox(key="vio-rule").set_value(rule).run()
    rows = frame(at, "规则编号", "问题说明")
    assert len(rows) == expected[rule]
    assert set(rows["问题说明"]) == set(
        sql(db, "select detail from mart_violations where rule_id = ?", [rule]).detail
    )


# ---- 劳务费与归档 -------------------------------------------------------------------------


def test_fees_page_lists_the_mart_fees_and_the_archive(db):
    at = all_time(open_page(db, "fees"))
    fees = frame(at, "月份", "专家编号", "金额（元）")
    expected = sql(
        db, "select count(*) as n, sum(reviews) as r, sum(amount_yuan) as a from mart_fees"
    )
    assert len(fees) == expected.n[0]
    assert fees["鉴定件数"].sum() == expected.r[0]
    assert fees["金额（元）"].sum() == expected.a[0]
    m = metrics(at)
    assert m["金额合计（元）"] == num(expected.a[0])

    month = f"{AS_OF.year}-10"
    at.selectbox(key="f-year").set_value(AS_OF.year).run()
    at.selectbox(key="f-month").set_value(10).run()
    fees = frame(at, "月份", "专家编号", "金额（元）")
    assert set(fees["月份"]) == {month}
    assert fees["金额（元）"].sum() == one(
        db, "select sum(amount_yuan) from mart_fees where month = ?", [month]
    )
    pivot = frame(at, "月份", "病种", "合计")
    long = pivot.melt(
        id_vars=["月份", "病种"], value_vars=["符合", "不符合"], var_name="outcome", value_name="n"
    )
    got = {(r.病种, r.outcome): r.n for r in long.itertuples() if r.n}
    archive = sql(
        db,
        "select disease_name, outcome, cases from mart_archive where month = ?",
        [month],
    )
    assert got == {(r.disease_name, r.outcome): r.cases for r in archive.itertuples()}


# ---- district scope -----------------------------------------------------------------------


def _district_columns_only(at: AppTest) -> None:
    for df in at.dataframe:
        if "区县" in df.value.columns:
            assert set(df.value["区县"].dropna()) <= {DISTRICT}, df.value.columns.tolist()


@pytest.mark.parametrize("page", PAGES)
def test_a_district_user_sees_only_the_district(db, page):
    at = all_time(open_page(db, page, "区县监管"))
    district = at.selectbox(key="f-district")
    assert district.options == [DISTRICT] and district.disabled
    hospitals = set(
        sql(
            db, "select hospital_name from stg_hospitals where district = ?", [DISTRICT]
        ).hospital_name
    )
    assert set(at.selectbox(key="f-hospital").options) - {"全部"} <= hospitals
    _district_columns_only(at)
    for df in at.dataframe:
        if "医院" in df.value.columns:
            assert set(df.value["医院"].dropna()) <= hospitals
        if "姓名" in df.value.columns:
            assert all("*" in n for n in df.value["姓名"].dropna()), "names must be masked"


def test_district_numbers_are_the_district_rows(db):
    scope = "inner join stg_hospitals as h on h.hospital_id = x.hospital_id where h.district = ?"
    home = metrics(all_time(open_page(db, "home", "区县监管")))
    assert home["定点医疗机构"] == num(
        one(db, "select count(*) from stg_hospitals where district = ?", [DISTRICT])
    )
    assert home["申报件数"] == num(
        one(db, f"select count(*) from stg_cases as x {scope}", [DISTRICT])
    )
    assert home["本期申报件数"] == num(
        one(db, f"select count(*) from fct_cases as x {scope}", [DISTRICT])
    )
    assert home["扣分·短信通知"] == num(
        one(db, f"select count(*) from fct_strikes as x {scope} and x.action = 'sms'", [DISTRICT])
    )
    assert home["隔离行（未导入）"] == "—"
    assert home["规则核查问题"] == num(
        one(db, f"select count(*) from mart_violations as x {scope}", [DISTRICT])
    )

    experts = all_time(open_page(db, "experts", "区县监管"))
    assert len(frame(experts, "专家编号", "扣分次数")) == one(
        db, f"select count(*) from fct_experts as x {scope}", [DISTRICT]
    )
    fees = all_time(open_page(db, "fees", "区县监管"))
    assert frame(fees, "月份", "金额（元）")["金额（元）"].sum() == one(
        db, f"select sum(amount_yuan) from mart_fees as x {scope}", [DISTRICT]
    )
    hospitals = open_page(db, "hospitals", "区县监管")
    assert len(frame(hospitals, "医院编号", "专家总数")) == one(
        db,
        f"select count(*) from mart_hospital_penalty as x {scope} and x.year = ?",
        [DISTRICT, AS_OF.year],
    )


def test_a_clicked_hospital_row_shows_its_evidence_and_the_book_is_offered(db):
    at = open_page(db, "hospitals")
    table = frame(at, "医院编号", "专家总数", "取消资格比例（%）")
    with_disq = table[table["取消资格人数"] > 0]
    assert len(with_disq) >= 2, "the generated data has at least two hospitals to choose from"
    target = with_disq["医院编号"].tolist()[-1]
    assert at.selectbox(key="hosp-evidence").value != target
    row = table["医院编号"].tolist().index(target)
    at.session_state["hosp-table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="hosp-evidence").value == target
    labels = [b.proto.label for b in at.get("download_button")]
    assert ("下载年终考核依据 (xlsx)" in labels) == (table["年终考核"] == "扣分").any()
