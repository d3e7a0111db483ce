"""AppTest, DATA-CUTOFF on the pages: every rule page shows the data cut-off and the evaluation
time (with the note when the evaluation time is after the cut-off) and warns about a stale export;
a city supervisor picks the evaluation time on 总览 (or resets it to the cut-off); 专家时效 lists the
待核实 tasks first and apart, with the expert's phone masked for roles without full personal data.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from dashboard.common import mask_phone
from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.ingest import ingest
from pipelines.rules import refresh_marts
from sample_generator import generate
from sample_generator.core import DEFAULT_END

from apptest_util import metrics, open_page

CUTOFF = dt.datetime.combine(DEFAULT_END, dt.time(23, 59, 59))
# after the cut-off: the completions due at 24:00 on Monday 23 Nov become 待核实, later ones not
EVAL_AT = dt.datetime(2026, 11, 24, 12, 0)
PAGES = ["home", "experts", "hospitals", "violations", "fees"]


def one(db: Path, statement: str, params: list | None = None):
    c = duckdb.connect(str(db))
    try:
        return c.execute(statement, params or []).fetchone()[0]
    finally:
        c.close()


def build_cutoff_db(d: Path) -> Path:
    """Busy last weeks loaded with the cut-off CUTOFF, marts at EVAL_AT (after it)."""
    generate(cases=600, seed=3, out=d / "in", start=dt.date(2026, 10, 1))  # busy last weeks
    c = connect(d / "w.duckdb")
    ingest(c, [d / "in"], log=lambda _m: None, cutoff=CUTOFF)
    refresh_marts(c, EVAL_AT, load_profile("zhengzhou"))
    c.close()
    return d / "w.duckdb"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_cutoff_db(tmp_path_factory.mktemp("cutoff"))


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    """A fresh copy per test (the picker tests recompute the marts)."""
    path = tmp_path / "w.duckdb"
    shutil.copy(built, path)
    return path


@pytest.fixture
def today(monkeypatch):
    """Set the pages' idea of today (the stale-export banner depends on it)."""

    def set_today(day: dt.date) -> None:
        monkeypatch.setattr("dashboard.filters.today", lambda: day)

    set_today(CUTOFF.date())
    return set_today


def captions(at) -> str:
    return "\n".join([c.value for c in at.caption] + [i.value for i in at.info])


@pytest.mark.parametrize("page", PAGES)
def test_every_rule_page_shows_the_cutoff_and_the_evaluation_time(db, today, page):
    at = open_page(db, page)
    assert not at.exception, [e.message for e in at.exception]
    text = captions(at)
    assert "数据截止时间：2026-11-20 23:59:59" in text
    assert "评估时间：2026-11-24 12:00:00" in text
    # the evaluation time is after the cut-off: results are at the cut-off, later deadlines 待核实
    assert "规则结果按数据截止时间计算" in text


def test_no_note_when_the_evaluation_time_is_the_cutoff(db, today):
    c = duckdb.connect(str(db))
    refresh_marts(c, None, load_profile("zhengzhou"))
    c.close()
    at = open_page(db, "violations")
    text = captions(at)
    assert "数据截止时间：2026-11-20 23:59:59；评估时间：2026-11-20 23:59:59" in text
    assert "规则结果按数据截止时间计算" not in text


@pytest.mark.parametrize("page", PAGES)
def test_a_cutoff_more_than_two_days_old_is_warned_about(db, today, page):
    today(CUTOFF.date() + dt.timedelta(days=3))
    at = open_page(db, page)
    stale = [w.value for w in at.warning if "天前" in w.value]
    assert stale and "2026-11-20 23:59:59 已是 3 天前" in stale[0], stale
    today(CUTOFF.date() + dt.timedelta(days=2))  # two calendar days: not yet stale
    at = open_page(db, page)
    assert not [w.value for w in at.warning if "天前" in w.value]


def test_the_picker_recomputes_the_marts_at_the_chosen_time_and_resets_to_the_cutoff(db, today):
    at = open_page(db, "home")
    # the picker shows the marts' evaluation time
    assert at.date_input(key="home-eval-date").value == EVAL_AT.date()
    chosen = dt.datetime(2026, 11, 10, 9, 30)
    at.date_input(key="home-eval-date").set_value(chosen.date())
    at.time_input(key="home-eval-time").set_value(chosen.time())
    at.button(key="home-refresh").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert one(db, "select eval_at from mart_meta") == chosen
    assert one(db, "select as_of from mart_meta") == chosen  # before the cut-off: facts at it
    assert any("已按评估时间 2026-11-10 09:30:00" in s.value for s in at.success)
    assert "评估时间：2026-11-10 09:30:00" in captions(at)
    assert at.date_input(key="home-eval-date").value == chosen.date()

    at.button(key="home-reset").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert one(db, "select eval_at from mart_meta") == CUTOFF
    assert "评估时间：2026-11-20 23:59:59" in captions(at)


def test_home_counts_no_unconfirmed_task_as_at_risk(db, today):
    at = open_page(db, "home")
    at.selectbox(key="f-year").set_value("全部").run()
    n = one(db, "select count(*) from mart_at_risk where status = 'at_risk'")
    assert one(db, "select count(*) from mart_at_risk where status = 'unconfirmed'") > 0
    assert metrics(at)["当前风险任务"] == str(n)


def _at_risk_tables(at):
    """The subheaders, and the at-risk tables in page order (AppTest exposes no grid keys)."""
    heads = [h.value for h in at.subheader]
    return heads, [
        df.value for df in at.dataframe if {"剩余小时", "联系电话"} <= set(df.value.columns)
    ]


@pytest.mark.parametrize(("role", "full"), [("市级监管", True), ("只读审计", False)])
def test_experts_lists_unconfirmed_tasks_first_with_the_phone(db, today, role, full):
    at = open_page(db, "experts", role)
    at.selectbox(key="f-year").set_value("全部").run()
    assert not at.exception, [e.message for e in at.exception]
    heads, (first, second) = _at_risk_tables(at)
    pending = heads.index("待核实（已过期限，数据未显示）")
    assert pending == heads.index("当前风险任务（每日电话提醒名单）") + 1

    rows = (
        duckdb.connect(str(db))
        .execute("select task_id, status, phone from mart_at_risk order by task_id")
        .df()
    )
    unconfirmed = rows[rows.status == "unconfirmed"]
    shown = first.sort_values("任务编号")
    assert shown["任务编号"].tolist() == unconfirmed.task_id.tolist()
    phones = unconfirmed.phone if full else unconfirmed.phone.map(mask_phone)
    assert shown["联系电话"].tolist() == phones.tolist()
    if not full:
        assert all("****" in p for p in shown["联系电话"])
    at_risk = sorted(rows[rows.status == "at_risk"].task_id)
    assert sorted(second["任务编号"]) == at_risk
    # never a strike: no 待核实 task is in the strike lists
    strikes = duckdb.connect(str(db)).execute("select task_id from fct_strikes").df()
    assert not set(unconfirmed.task_id) & set(strikes.task_id)


def test_mask_phone():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("66012345") == "******45"
    assert mask_phone(None) is None
