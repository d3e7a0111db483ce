"""The evaluation-time picker on 总览 in a real Chromium (DATA-CUTOFF): a city supervisor types a
date and a time, recomputes the marts at that time, and resets the evaluation time to the data
cut-off; the page says which times the results are at."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_pages_cutoff import build_cutoff_db

from browser import exceptions_on, login, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_cutoff_db(tmp_path)


def info_text(page) -> str:
    return page.locator("[data-testid='stAlertContentInfo']").first.inner_text()


def test_the_supervisor_picks_the_evaluation_time_and_resets_it(db, users_file, browser):
    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        login(page, url)
        page.get_by_text("评估时间：2026-11-24 12:00:00").wait_for()
        assert "数据截止时间：2026-11-20 23:59:59" in info_text(page)

        # the date and time fields are segments (spinbuttons) typed into, as a user does
        for segment, value in (
            ("day, 评估日期", "10"),
            ("hour, 评估时间", "09"),
            ("minute, 评估时间", "30"),
        ):
            field = page.get_by_role("spinbutton", name=segment)
            field.click()
            page.keyboard.type(value)
            page.keyboard.press("Tab")
            wait_for_app(page)
        page.get_by_role("button", name="按所选时间计算").click()
        page.get_by_text("已按评估时间 2026-11-10 09:30:00 重新计算").wait_for(timeout=60_000)
        wait_for_app(page)
        assert "评估时间：2026-11-10 09:30:00" in info_text(page)

        page.get_by_role("button", name="恢复为数据截止时间").click()
        page.get_by_text("已按评估时间 2026-11-20 23:59:59 重新计算").wait_for(timeout=60_000)
        wait_for_app(page)
        text = info_text(page)
        assert "数据截止时间：2026-11-20 23:59:59；评估时间：2026-11-20 23:59:59" in text
        assert exceptions_on(page) == []
        page.close()
