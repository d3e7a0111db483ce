"""Every sidebar page of both profiles in a real Chromium at 1440×900 (issue 14 "Done means" and
item 5): each page opens without an exception and shows no English or raw value (None / nan /
empty / profile ids; on 数据 Streamlit's own uploader text "Upload", "…MB per file" is hidden and
said in Chinese), and is saved full height as test-artifacts/screens/<profile>-<page>.png for a
person to look at as a new supervisor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_browser_taiyuan import shot, ty_db  # noqa: F401  (the generated Taiyuan warehouse)
from test_pages_monitoring import build_db

from dashboard.nav import sections

from browser import exceptions_on, login, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser

HEADINGS = {"总览": "门诊慢特病鉴定监管看板"}
RAW = re.compile(r"\b(?:None|nan|NaN|NaT|empty|reason|zhengzhou|taiyuan|Upload|per file)\b")


@pytest.fixture(scope="module")
def zz_db(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("browser-screens"), cases=1500)


def pages_of(profile: str) -> list[tuple[str, str]]:
    """(file stem, link title) of every page in the profile's sidebar."""
    return [(Path(f).stem, t) for pages in sections(profile).values() for f, t, *_ in pages]


def shoot_every_page(db: Path, profile: str, users_file: Path, browser) -> dict[str, list]:
    """Open each sidebar page in turn; its screenshot, and the raw values its text shows."""
    found = {}
    with streamlit_server(db, profile=profile, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        login(page, url)
        for stem, title in pages_of(profile):
            page.get_by_role("link", name=title, exact=True).click()
            page.get_by_role("heading", name=HEADINGS.get(title, title)).first.wait_for(
                timeout=120_000
            )
            wait_for_app(page, timeout=120_000)
            assert not exceptions_on(page), (title, exceptions_on(page))
            shot(page, f"{profile}-{stem}")
            found[title] = RAW.findall(page.inner_text("body"))
            if stem == "data":  # Streamlit's English uploader text replaced by Chinese
                uploader = page.locator('[data-testid="stFileUploaderDropzone"]')
                uploader.scroll_into_view_if_needed()
                assert uploader.is_visible()
                shot(page, f"{profile}-data-upload")
                found["上传"] = (
                    []
                    if "选择文件"
                    in uploader.evaluate(
                        "e => getComputedStyle(e.querySelector('button'), '::after').content"
                    )
                    else ["Upload"]
                )
    return found


@pytest.mark.parametrize("profile", ["zhengzhou", "taiyuan"])
def test_every_page_of_the_sidebar_shown_and_shot(profile, request, users_file, browser):
    db = request.getfixturevalue("zz_db" if profile == "zhengzhou" else "ty_db")
    found = shoot_every_page(db, profile, users_file, browser)
    assert found == {title: [] for _, title in pages_of(profile)} | {"上传": []}
