"""处置台账 page (ZZ-ACTION, ZZ-DISPUTE) through AppTest: the weekly lists, mark done, disputes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from test_rules_support import ZZ, expert, hospital, load, task, ts

from pipelines.db import connect
from pipelines.rules import refresh_marts

from apptest_util import open_page

PUSHES = [
    "2026-03-02 09:00:00",
    "2026-03-03 09:00:00",
    "2026-03-04 09:00:00",
    "2026-03-05 09:00:00",
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_actions_db(tmp_path)


def build_actions_db(tmp_path: Path) -> Path:
    """E1 of H1 (金水区) misses four acceptances: sms, notify_hospital, disqualify, after."""
    path = tmp_path / "w.duckdb"
    c = connect(path)
    load(
        c,
        hospitals=[hospital("H1", district="金水区")],
        experts=[expert("E1", phone="13812345678"), expert("E2")],
        tasks=[task(f"T{i}", pushed_at=p) for i, p in enumerate(PUSHES, 1)],
        cutoff="2026-12-31 00:00:00",
    )
    refresh_marts(c, ts("2026-12-31 00:00:00"), ZZ)
    c.close()
    return path


def ledger(db: Path) -> list[tuple]:
    c = duckdb.connect(str(db))
    try:
        return c.execute(
            "select task_id, action, status, done_by from mart_action_ledger order by task_id"
        ).fetchall()
    finally:
        c.close()


def table(at, *columns):
    return next(df.value for df in at.dataframe if set(columns) <= set(df.value.columns))


def test_the_pending_sms_list_and_marking_the_whole_list_done(db):
    at = open_page(db, "actions")
    assert not at.exception, [e.message for e in at.exception]
    assert table(at, "任务编号", "联系电话")["任务编号"].tolist() == ["T1"]
    at.text_input(key="act-note").set_value("短信平台已发送")
    submit = next(b for b in at.button if b.label == "标记为已处置")
    submit.click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert ("T1", "sms", "done", "demo") in ledger(db)
    assert any("已登记 1 项短信通知为已处置" in s.value for s in at.success)
    assert table(at, "任务编号", "联系电话").empty  # no pending sms left


def test_a_dispute_voids_a_strike_everywhere_and_shows_it_struck_through(db):
    at = open_page(db, "actions")
    at.text_input(key="act-expert").set_value("E1").run()
    ev = table(at, "任务编号", "违规序号", "状态")
    assert ev["任务编号"].tolist() == ["T1", "T2", "T3", "T4"]
    at.selectbox(key="act-dispute-task").set_value("T2")
    at.radio(key="act-decision").set_value("撤销")
    at.text_input(key="act-reason").set_value("推送失败，专家未收到")
    next(b for b in at.button if b.label == "记录处理结果").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert ("T2", "notify_hospital", "voided", None) in ledger(db)
    assert ("T3", "notify_hospital", "pending", None) in ledger(db)
    ev = table(at, "任务编号", "违规序号", "状态")
    assert ev["任务编号"].tolist()[1] == "T\u03362\u0336"
    assert ev["状态"].tolist() == ["有效", "已撤销", "有效", "有效"]
    assert ev["违规序号"].tolist() == [1, 2, 2, 3]


@pytest.mark.parametrize("role", ["区县监管", "只读审计"])
def test_only_city_roles_decide_and_phones_are_masked_for_them(db, role):
    at = open_page(db, "actions", role=role)
    assert not at.exception, [e.message for e in at.exception]
    assert not [b for b in at.button if b.label in ("标记为已处置", "记录处理结果")]
    phones = table(at, "任务编号", "联系电话")["联系电话"].tolist()
    assert phones == ["138****5678"]
