"""What a new user sees on the monitoring pages (issue 14 item 5): no English or raw values, counts
with thousands separators, and one list formatted the same on every page (`list_columns`)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_pages_basic import db as small_db  # noqa: F401  (the loaded-with-a-quarantined-row world)
from test_pages_monitoring import build_db

from dashboard.charts import list_columns, no_none

from apptest_util import metrics, open_page

ENGLISH = re.compile(r"\b(?:None|nan|NaN|NaT|empty|reason|zhengzhou|taiyuan)\b")


def config(table) -> dict:
    """The column config the page gave a table (column → its settings)."""
    return json.loads(table.proto.columns)


def test_list_columns_one_format_for_counts_times_and_rates():
    df = pd.DataFrame(
        {
            "专家编号": ["E1"],
            "任务数": [1200],
            "读取": [3],
            "时限": pd.to_datetime(["2026-03-02 17:00"]),
            "响应按时率（%）": [87.5],
            "剩余小时": [2.25],
        }
    )
    got = list_columns(df, "读取")
    assert {k: v["type_config"].get("format") for k, v in got.items()} == {
        "任务数": "localized",
        "读取": "localized",
        "时限": "YYYY-MM-DD HH:mm:ss",
        "响应按时率（%）": "%.1f",
        "剩余小时": "%.1f",
    }


def test_no_none_blanks_empty_text_and_times_and_leaves_numbers():
    df = pd.DataFrame(
        {
            "办结时限": pd.to_datetime(["2026-03-02 09:00:05", None]),
            "办结情况": ["按时", None],
            "扣分": [1.0, None],
            "时限": pd.to_datetime(["2026-03-02 17:00", "2026-03-03 17:00"]),
        }
    )
    got = no_none(df)
    assert got["办结时限"].tolist() == ["2026-03-02 09:00:05", ""]
    assert got["办结情况"].tolist() == ["按时", ""]
    assert got["扣分"].iloc[0] == 1.0 and pd.isna(got["扣分"].iloc[1])
    assert got["时限"].tolist() == df["时限"].tolist()  # no empty cell: still times


def test_experts_lists_show_no_empty_cell_as_none(db):
    at = open_page(db, "experts")
    assert not at.exception
    blanks = {
        c
        for t in at.dataframe
        for c, col in t.value.items()
        if not pd.api.types.is_numeric_dtype(col) and col.isna().any()
    }
    assert blanks == set()
    timeline = next(t.value for t in at.dataframe if "办结时间" in t.value.columns)
    assert (timeline["办结时间"] == "").any()  # the fixture has a task never completed


@pytest.mark.parametrize(
    "page", ["home", "experts", "hospitals", "actions", "violations", "fees", "audit_log"]
)
def test_no_list_on_a_page_shows_an_empty_text_cell_as_none(db, page):
    at = open_page(db, page)
    assert not at.exception
    blanks = {
        (t.value.columns.get_loc(c), c)
        for t in at.dataframe
        for c, col in t.value.items()
        if not pd.api.types.is_numeric_dtype(col) and col.isna().any()
    }
    assert blanks == set()
    # an empty number cell (e.g. a rate with nothing due) shows "—", not Streamlit's "None"
    assert [t.proto.placeholder for t in at.dataframe] == ["—"] * len(at.dataframe)


def test_data_page_counts_have_separators_and_no_english_column(small_db):  # noqa: F811
    at = open_page(small_db, "data")
    assert not at.exception
    quarantine = at.dataframe[1].value
    assert "reason" not in quarantine.columns
    cols = config(at.dataframe[0])
    assert {c: cols[c]["type_config"]["format"] for c in ("读取", "接受", "隔离")} == dict.fromkeys(
        ("读取", "接受", "隔离"), "localized"
    )
    # Streamlit's "Upload" / "100MB per file" are hidden: the same said in Chinese
    assert any(re.search(r"单个文件不超过 \d+ MB", c.value) for c in at.caption)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("presentation"), cases=1500)


def test_the_rule_with_most_problems_is_named_not_numbered(db):
    at = open_page(db, "violations")
    assert not at.exception
    top = metrics(at)["问题最多的规则"]
    assert top and not re.fullmatch(r"[A-Z]+(-[A-Z0-9]+)+", top)
    assert top == at.dataframe[0].value["规则说明"].iloc[0]


def test_marts_of_another_profile_are_named_in_chinese(db, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copy(db, path)
    c = duckdb.connect(str(path))
    c.execute("update mart_meta set profile = 'taiyuan'")
    c.close()
    at = open_page(path, "home")
    assert not at.exception
    shown = " ".join([w.value for w in at.warning] + [i.value for i in at.info])
    assert "太原" in shown and "郑州" in shown
    assert not ENGLISH.search(shown), shown


@pytest.mark.parametrize("page", ["home", "experts", "hospitals", "violations", "fees", "actions"])
def test_no_raw_value_in_the_page_text(db, page):
    at = open_page(db, page)
    assert not at.exception
    texts = [
        e.value
        for kind in ("caption", "markdown", "info", "warning", "success")
        for e in at.get(kind)
    ]
    texts += [f"{m.label} {m.value}" for m in at.metric]
    assert not [t for t in texts if ENGLISH.search(str(t))]
