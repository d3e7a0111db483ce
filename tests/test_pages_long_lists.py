"""Lists too long for a grid (issue 13, item 4: pages ≤ 1 s at province scale, where 规则核查 has
millions of rows and 数据 1.8 million warnings): the grid shows the first rows in the list's own
order with a Chinese note, the download holds every row; 医院考核's chart draws the highest shares.

The limits are lowered (TABLE_ROWS, CHART_BARS) so a generated city has lists longer than them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_pages_monitoring import AS_OF, all_time, build_db, sql

import dashboard.charts
import dashboard.common
import dashboard.downloads

from apptest_util import open_page, record_downloads

ROWS = 7


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("long-lists"))


@pytest.fixture
def downloads(monkeypatch) -> dict[str, pd.DataFrame]:
    """What each download button's file holds (every row), by what it is called; grids hold
    at most ROWS rows."""
    monkeypatch.setattr(dashboard.common, "TABLE_ROWS", ROWS)
    return record_downloads(monkeypatch)


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def note(total: int) -> str:
    return f"表中显示前 {ROWS} 行（共 {total:,} 行），完整名单请下载。"


def test_violation_rows_show_the_first_rows_and_download_all(db, downloads):
    rule, total = sql(
        db,
        "select rule_id, count(*) as n from mart_violation_events "
        "group by rule_id order by n desc, rule_id limit 1",
    ).iloc[0]
    assert total > ROWS
    at = all_time(open_page(db, "violations"))
    at.selectbox(key="vio-rule").set_value(rule).run()
    assert not at.exception, [e.message for e in at.exception]
    expected = sql(
        db,
        "select case_id, task_id, expert_id from mart_violation_events where rule_id = ? "
        "order by occurred_at nulls last, case_id, task_id, expert_id",
        [rule],
    )
    grid = next(df.value for df in at.dataframe if "问题说明" in df.value.columns)
    every = downloads[f"规则核查_{rule}"]
    assert len(grid) == ROWS and len(every) == total
    keys = [c for c in ("申报编号", "任务编号", "专家编号") if c in every.columns]
    assert keys, "a rule fills at least one of case, task and expert"
    wanted = expected.set_axis(["申报编号", "任务编号", "专家编号"], axis=1)[keys]
    assert every[keys].astype(object).equals(wanted.astype(object))
    assert grid[keys].astype(object).equals(wanted.head(ROWS).astype(object))
    assert f"：{total:,} 条。" in captions(at)
    assert note(total) in captions(at)


def test_strike_lists_show_the_first_rows_and_download_all_with_history(db, downloads):
    at = all_time(open_page(db, "experts"))
    assert not at.exception, [e.message for e in at.exception]
    counts = sql(
        db,
        "select action, count(*) as n from mart_strike_evidence where status <> 'voided' "
        "group by action",
    ).set_index("action")["n"]
    sms = int(counts["sms"])
    assert sms > ROWS
    every = downloads["短信通知名单"]
    assert len(every) == sms
    assert every["本年度扣分记录"].notna().all()
    # the first strike of a year has itself as history: "第1次 <task> 时限 …"
    first = every[every["年度扣分序号"] == 1].iloc[0]
    assert first["本年度扣分记录"].startswith(f"第1次 {first['任务编号']} 时限 ")
    grids = [df.value for df in at.dataframe if "本年度扣分记录" in df.value.columns]
    sms_grid = next(g for g in grids if g["任务编号"].tolist() == every["任务编号"][:ROWS].tolist())
    assert sms_grid["本年度扣分记录"].tolist() == every["本年度扣分记录"][:ROWS].tolist()
    assert note(sms) in captions(at)
    assert f"短信通知名单（{sms:,}）" in [t.label for t in at.tabs]


def test_data_warnings_show_the_first_rows_and_download_all(db, downloads, tmp_path):
    db = Path(shutil.copy(db, tmp_path / "w.duckdb"))
    total = 12  # two loads: the newer one's warnings first, each load's by file and line
    c = duckdb.connect(str(db))
    c.execute(
        "insert into data_warnings select 1 + i % 2, 'cases.csv', 'cases', 100 - i, '身份证号', "
        "'身份证号校验位不符', 'check digit', 'C' || i from range(?) as r(i)",
        [total],
    )
    c.close()
    at = open_page(db, "data")
    assert not at.exception, [e.message for e in at.exception]
    grid = next(df.value for df in at.dataframe if "警告" in df.value.columns)
    expected = sql(
        db,
        "select line, record_key from data_warnings "
        "order by load_id desc, table_name, file_name, line",
    )
    assert len(grid) == ROWS and len(downloads["数据警告"]) == total
    assert downloads["数据警告"]["记录编号"].tolist() == expected["record_key"].tolist()
    assert grid["行号"].tolist() == expected["line"][:ROWS].tolist()
    assert f"共 {total:,} 条" in captions(at) and note(total) in captions(at)


def test_hospital_chart_draws_the_highest_shares(db, monkeypatch):
    monkeypatch.setattr(dashboard.charts, "CHART_BARS", 2)
    at = open_page(db, "hospitals")
    assert not at.exception, [e.message for e in at.exception]
    shares = sql(
        db,
        "select hospital_name, experts_disqualified, experts_total, round(ratio * 100, 1) as pct "
        "from mart_hospital_penalty where year = ? and experts_disqualified > 0 "
        "order by penalized desc, one_more_penalized desc, ratio desc, hospital_id",
        [AS_OF.year],
    )
    assert len(shares) > 2
    top = shares.sort_values("pct", ascending=False, kind="stable").head(2)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    labels = [
        f"{r.hospital_name}（{r.experts_disqualified}/{r.experts_total}）" for r in top.itertuples()
    ]
    assert chart["data"][0]["y"] == labels[::-1]  # the largest on top
    assert f"图中为取消资格比例最高的 2 家（共 {len(shares):,} 家）" in captions(at)
