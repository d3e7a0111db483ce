"""In a real Chromium, a hospital named like a tracking pixel, bold and a link is shown as typed on
医院考核 (issue 15, item 3): the caption and the plotly chart's labels hold the literal name, the
page has no such <img> or <a>, and the browser never asks for the image.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from test_pages_monitoring import build_db

from browser import exceptions_on, login, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser

PIXEL = "127.0.0.1:9/t.png"
EVIL = f"![](http://{PIXEL})**b**<a href=x>y</a>"

# what the page holds of the name: images and links made from it, and where its text is
PROBE = """(pixel) => ({
    imgs: [...document.querySelectorAll('img')].filter(i => i.src.includes(pixel)).length,
    links: [...document.querySelectorAll('a')].filter(
        a => a.getAttribute('href') === 'x' || a.getAttribute('xlink:href') === 'x').length,
    bold: [...document.querySelectorAll('strong, b')].filter(b => b.textContent === 'b').length,
    chart: [...document.querySelectorAll('.js-plotly-plot')].map(p => p.textContent).join(' '),
})"""


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """Generated data where the first hospital with a disqualified expert has the evil name."""
    path = build_db(tmp_path_factory.mktemp("browser-text-only"), cases=1500)
    c = duckdb.connect(str(path))
    hid = c.execute(
        "select hospital_id from mart_hospital_penalty where experts_disqualified > 0 "
        "order by penalized desc, one_more_penalized desc, ratio desc, hospital_id limit 1"
    ).fetchone()[0]
    for table in ("stg_hospitals", "mart_hospital_penalty"):
        c.execute(f"update {table} set hospital_name = ? where hospital_id = ?", [EVIL, hid])
    c.close()
    return path


def test_an_evil_hospital_name_is_shown_as_typed(db, users_file, browser):
    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        asked = []
        page.on("request", lambda r: asked.append(r.url) if PIXEL in r.url else None)
        login(page, url)
        page.get_by_role("link", name="医院考核").click()
        wait_for_app(page)
        # the evidence caption shows the name as typed
        page.get_by_test_id("stCaptionContainer").filter(has_text=EVIL).wait_for(timeout=60_000)
        page.locator(".js-plotly-plot .ytick").first.wait_for(timeout=60_000)
        wait_for_app(page)
        assert exceptions_on(page) == []
        found = page.evaluate(PROBE, PIXEL)
        assert EVIL in found["chart"], found["chart"][:300]
        assert (found["imgs"], found["links"], found["bold"]) == (0, 0, 0), found
        assert asked == []
        page.close()
