"""The meeting draw's projector view in a real Chromium at 1024×768: no sidebar, one pick per
screen in large type, the 监督人 named, no form in sight, and no name broken over two lines
(long names and hospital names on purpose). Screenshots in test-artifacts/screens/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_browser_draws import built, choose, click, fill, widget  # noqa: F401 (fixture built)

from pipelines.db import connect

from browser import ARTIFACTS, exceptions_on, login, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser

SCREENS = ARTIFACTS / "screens"
SIDEBAR = 'section[data-testid="stSidebar"]'
# Per `.one-line` element of the screen: its height in lines and whether its text fits its box.
LINES = """() => [...document.querySelectorAll('.mtb-proj.screen .one-line')].map(el => {
    const screen = el.closest('.mtb-proj.screen');
    const frame = screen.getBoundingClientRect();
    const pad = parseFloat(getComputedStyle(screen).paddingLeft);
    const style = getComputedStyle(el);
    const line = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
    const text = document.createRange();
    text.selectNodeContents(el);
    const box = el.getBoundingClientRect();
    const ink = text.getBoundingClientRect();
    return {cls: el.className, lines: box.height / line,
            fits: ink.left >= frame.left + pad && ink.right <= frame.right - pad
                  && ink.bottom <= Math.min(frame.bottom, window.innerHeight)};
})"""


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:  # noqa: F811
    """The city-year with long expert and hospital names (a name must never wrap)."""
    target = tmp_path / "w.duckdb"
    shutil.copy(built, target)
    c = connect(target)
    c.execute("update stg_experts set expert_name = '欧阳' || expert_name || '买买提'")
    c.execute("update stg_hospitals set hospital_name = hospital_name || '（国际医疗中心东院区）'")
    c.close()
    return target


def check_screen(page, pick: int) -> None:
    page.locator(".mtb-proj.screen").get_by_text(f"第 {pick} 位 / 共 3 位").wait_for()
    assert page.locator(SIDEBAR).is_hidden()
    assert page.locator(".mtb-proj.screen .scr-name").count() == 1
    assert page.locator(".mtb-proj.screen .scr-name").is_visible()
    assert page.locator(".mtb-proj.screen .scr-supervisor").inner_text() == "王纪检"
    assert page.locator(".st-key-md-replace, .st-key-md-redraw-seed, .st-key-md-new").count() == 0
    lines = page.evaluate(LINES)
    assert len(lines) >= 5, lines
    for el in lines:
        assert el["lines"] < 1.5 and el["fits"], el


def test_projector_view_at_1024x768(db, users_file, browser):
    SCREENS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        login(page, url)
        page.get_by_role("link", name="双随机抽取").click()
        wait_for_app(page)
        choose(page, "md-specialty", "心血管内科")
        fill(page, "md-n", "3")
        fill(page, "md-supervisor", "王纪检")
        click(page, "md-freeze")
        fill(page, "md-seed", "48213907561239847702")
        click(page, "md-lock")
        widget(page, "md-projector-on").wait_for()
        assert page.locator(SIDEBAR).is_visible()
        click(page, "md-projector-on")
        check_screen(page, 1)
        page.screenshot(path=str(SCREENS / "projector_1024x768_pick1.png"))
        click(page, "md-next")
        check_screen(page, 2)
        page.screenshot(path=str(SCREENS / "projector_1024x768_pick2.png"))
        click(page, "md-projector-off")
        widget(page, "md-projector-on").wait_for()
        assert page.locator(SIDEBAR).is_visible()
        assert exceptions_on(page) == []
        page.close()
