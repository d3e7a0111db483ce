"""处置台账 in a real Chromium: a city supervisor marks the weekly SMS list done and voids a
disputed strike from its evidence (ZZ-ACTION, ZZ-DISPUTE); the lists follow."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_pages_actions import build_actions_db

from browser import choose, exceptions_on, login, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser


def test_mark_done_and_void_a_disputed_strike(tmp_path: Path, users_file, browser):
    db = build_actions_db(tmp_path)
    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        login(page, url)
        page.get_by_role("link", name="处置台账").click()
        page.get_by_text("短信通知：待处置 1 项").wait_for(timeout=60_000)
        wait_for_app(page)

        page.get_by_role("button", name="标记为已处置").click()
        page.get_by_text("已登记 1 项短信通知为已处置").wait_for(timeout=60_000)
        page.get_by_text("短信通知：待处置 0 项").wait_for(timeout=60_000)
        wait_for_app(page)

        page.get_by_label("专家编码").fill("E1")
        page.keyboard.press("Enter")
        page.get_by_text("记录申诉处理结果").wait_for(timeout=60_000)
        wait_for_app(page)
        choose(page, "act-dispute-task", "T2")
        page.get_by_text("撤销", exact=True).click()
        page.get_by_label("理由").fill("推送失败，专家未收到")
        page.get_by_role("button", name="记录处理结果").click()
        page.get_by_text("已记录：任务 T2 的违规撤销").wait_for(timeout=60_000)
        wait_for_app(page)

        choose(page, "act-action", "通报所在医院")
        page.get_by_text("通报所在医院：待处置 1 项").wait_for(timeout=60_000)  # T3 moved up
        choose(page, "act-status", "已撤销")
        page.get_by_text("通报所在医院：已撤销 1 项").wait_for(timeout=60_000)  # T2
        assert exceptions_on(page) == []
        page.close()
