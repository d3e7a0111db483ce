"""In a real Chromium at 1440×900, the monitoring pages show no English or raw values (issue 14
item 5): on 数据 Streamlit's own uploader text ("Upload", "…MB per file") is hidden and said in
Chinese; every page's visible text is free of None / nan / empty / profile ids. Each page is
saved as a screenshot under test-artifacts/screens/ to be looked at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_pages_monitoring import build_db

from browser import exceptions_on, login, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser

SCREENS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screens"
PAGES = {
    "总览": "home",
    "专家时效": "experts",
    "医院考核": "hospitals",
    "处置台账": "actions",
    "规则核查": "violations",
    "劳务费与归档": "fees",
    "审计日志": "audit_log",
    "数据": "data",
}
HEADINGS = {"总览": "门诊慢特病鉴定监管看板"}
RAW = re.compile(r"\b(?:None|nan|NaN|NaT|empty|reason|zhengzhou|taiyuan|Upload|per file)\b")


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("browser-presentation"), cases=1500)


def test_pages_show_no_english_or_raw_values(db, users_file, browser):
    SCREENS.mkdir(parents=True, exist_ok=True)
    found = {}
    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        login(page, url)
        for title, name in PAGES.items():
            page.get_by_role("link", name=title, exact=True).click()
            heading = HEADINGS.get(title, title)
            page.get_by_role("heading", name=heading).first.wait_for(timeout=120_000)
            wait_for_app(page, timeout=120_000)
            assert not exceptions_on(page), (title, exceptions_on(page))
            page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
            found[title] = RAW.findall(page.inner_text("body"))
        uploader = page.locator('[data-testid="stFileUploaderDropzone"]')
        uploader.scroll_into_view_if_needed()
        assert uploader.is_visible()
        page.screenshot(path=str(SCREENS / "data-upload.png"))
        assert "选择文件" in uploader.evaluate(
            "e => getComputedStyle(e.querySelector('button'), '::after').content"
        )
    assert found == dict.fromkeys(PAGES, [])
