"""AppTest: the home and data pages run without exceptions and show the loaded data."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.db import connect
from pipelines.ingest import ingest

from apptest_util import metrics, open_page
from test_ingest import CASES, TASKS, write_all


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pages")
    c = connect(d / "w.duckdb")
    tasks = [*TASKS, ["T9", "C9", "E1", "2026-03-02 10:00", "", "", "", ""]]
    cases = [list(r) for r in CASES]
    cases[2][1] = cases[2][1][:17] + ("0" if cases[2][1][17] != "0" else "1")  # wrong check digit
    ingest(c, [write_all(d / "in", tasks=tasks, cases=cases)], log=lambda _m: None)
    c.close()
    return d / "w.duckdb"


def test_home_counts_equal_the_database(db):
    at = open_page(db, "home")
    assert not at.exception
    m = metrics(at)
    assert (m["定点医疗机构"], m["鉴定专家"], m["申报件数"], m["专家鉴定任务"]) == (
        "2",
        "3",
        "2",
        "4",
    )
    assert m["隔离行（未导入）"] == "1"


def test_data_page_lists_loads_and_quarantine(db):
    at = open_page(db, "data")
    assert not at.exception
    frames = [df.value for df in at.dataframe]
    loads, quarantine = frames[0], frames[1]
    assert set(loads["文件"]) == {"hospitals.csv", "experts.csv", "cases.csv", "tasks.csv"}
    assert quarantine["行号"].tolist() == [6]
    assert quarantine["原因"].tolist() == ["申报编号不存在（未在申报表中）"]


def test_login_form_is_all_an_anonymous_visitor_sees(db):
    import os

    from streamlit.testing.v1 import AppTest

    from apptest_util import APP

    os.environ["MTB_DB"] = str(db)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert not at.metric


def test_district_user_sees_no_citywide_quarantine_or_upload(db):
    at = open_page(db, "data", role="区县监管")
    assert not at.exception
    assert len(at.dataframe) == 1  # the load log only
    assert not at.get("file_uploader")


def test_auditor_sees_quarantine_without_raw_personal_data(db):
    at = open_page(db, "data", role="只读审计")
    assert not at.exception
    quarantine = at.dataframe[1].value
    assert "原始内容" not in quarantine.columns


def test_an_idle_session_expires_back_to_the_login_form(db):
    import os
    import time
    from dataclasses import asdict

    from streamlit.testing.v1 import AppTest

    from dashboard.auth import IDLE_SECONDS

    from apptest_util import APP, ROLE_USERS

    os.environ["MTB_DB"] = str(db)
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = asdict(ROLE_USERS["市级监管"])
    at.session_state["last_seen"] = time.time() - IDLE_SECONDS - 5
    at.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert "会话已超时" in " ".join(w.value for w in at.warning)
    assert not at.metric


def test_the_login_form_checks_the_bcrypt_hash(db, tmp_path, monkeypatch):
    import os

    from streamlit.testing.v1 import AppTest

    from pipelines import users

    from apptest_util import APP

    f = tmp_path / "users.json"
    users.add_user("zhang", "correct-horse", "区县监管", "金水区", f)
    assert "correct-horse" not in f.read_text(encoding="utf-8")
    monkeypatch.setattr(users, "USERS_FILE", f)
    os.environ["MTB_DB"] = str(db)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.text_input(key="login-user").input("zhang")
    at.text_input(key="login-password").input("wrong-password")
    at.button[0].click().run()
    assert "用户名或密码错误" in " ".join(e.value for e in at.error)
    at.text_input(key="login-password").input("correct-horse")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["user"]["district"] == "金水区"


def test_data_page_lists_the_data_warnings(db):
    """Rows loaded with a warning are shown to city users with file, line and record."""
    at = open_page(db, "data")
    assert not at.exception
    warnings = next(df.value for df in at.dataframe if "警告" in df.value.columns)
    c = connect(db)
    stored = c.execute(
        "select table_name, line, record_key, warning_zh from data_warnings "
        "order by load_id desc, table_name, file_name, line"
    ).fetchall()
    c.close()
    assert (3, CASES[2][0]) in [(line, key) for _t, line, key, _w in stored]  # the one planted
    shown = warnings[["表", "行号", "记录编号", "警告"]].itertuples(index=False, name=None)
    assert list(shown) == stored
