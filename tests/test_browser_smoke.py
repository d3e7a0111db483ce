"""The real Streamlit server in a real Chromium: the home page shows the headline counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.db import connect
from pipelines.ingest import ingest

from browser import (
    ARTIFACTS,
    exceptions_on,
    login,
    streamlit_server,
    wait_for_app,
)
from test_ingest import write_all

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("smoke")
    c = connect(d / "w.duckdb")
    ingest(c, [write_all(d / "in")], log=lambda _m: None)
    c.close()
    return d / "w.duckdb"


def test_login_is_required_and_wrong_password_refused(small_db, users_file, browser):
    with streamlit_server(small_db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page()
        page.goto(url)
        wait_for_app(page)
        assert page.query_selector('[data-testid="stMetric"]') is None
        page.get_by_label("用户名").fill("demo")
        page.get_by_label("密码").fill("wrong-password")
        page.get_by_role("button", name="登录").click()
        page.get_by_text("用户名或密码错误").wait_for()
        assert page.query_selector('[data-testid="stMetric"]') is None
        page.close()


def test_home_page_shows_headline_counts(small_db, users_file, browser):
    with streamlit_server(small_db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        login(page, url)
        page.get_by_text("门诊慢特病鉴定监管看板").first.wait_for()
        metrics = {
            m.query_selector('[data-testid="stMetricLabel"]')
            .inner_text()
            .strip(): m.query_selector('[data-testid="stMetricValue"]').inner_text()
            for m in page.query_selector_all('[data-testid="stMetric"]')
        }
        assert metrics["定点医疗机构"] == "2"
        assert metrics["鉴定专家"] == "3"
        assert metrics["申报件数"] == "2"
        assert metrics["专家鉴定任务"] == "4"
        assert exceptions_on(page) == []
        page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)

        page.get_by_role("link", name="数据").click()
        wait_for_app(page)
        page.get_by_text("导入记录").first.wait_for()
        assert exceptions_on(page) == []
        page.close()


def test_tables_offer_no_unaudited_csv_export(small_db, users_file, browser):
    """Every download goes through the audited buttons: the tables' own CSV export is off."""
    with streamlit_server(small_db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        login(page, url)
        page.get_by_role("link", name="数据").click()
        wait_for_app(page)
        table = page.locator('[data-testid="stDataFrame"]').first
        table.wait_for()
        table.hover()
        toolbar = page.locator('[data-testid="stElementToolbar"]').first
        toolbar.wait_for(state="visible")
        labels = [
            b.get_attribute("aria-label") or b.inner_text() for b in toolbar.locator("button").all()
        ]
        assert labels, "the table's toolbar shows no buttons at all"
        assert not [x for x in labels if "download" in x.lower() or "下载" in x], labels
        page.close()


def test_a_reload_keeps_the_login_and_logout_ends_it(small_db, users_file, browser):
    with streamlit_server(small_db, env={"MTB_USERS": str(users_file)}) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        login(page, url, "jinshui", "jinshui2026")
        page.get_by_role("link", name="数据").click()
        wait_for_app(page)
        cookie = {c["name"]: c for c in context.cookies()}["mtb_session"]
        assert cookie["sameSite"] == "Strict"
        page.reload()
        wait_for_app(page)
        page.get_by_text("退出登录").wait_for()
        assert page.get_by_text("jinshui（区县监管，金水区）").count() == 1
        assert page.get_by_label("密码").count() == 0

        page.get_by_role("button", name="退出登录").click()
        page.get_by_label("密码").wait_for()
        page.reload()
        wait_for_app(page)
        page.get_by_label("密码").wait_for()
        assert page.get_by_text("退出登录").count() == 0
        # the old token is revoked, even if a copy of the cookie is sent again
        context.add_cookies([{**cookie, "sameSite": "Strict"}])
        page.reload()
        wait_for_app(page)
        page.get_by_label("密码").wait_for()
        assert page.get_by_text("退出登录").count() == 0
        context.close()
