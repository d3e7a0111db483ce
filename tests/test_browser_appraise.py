"""Findings → estimates on the 抽查 page in a real Chromium: the inspectors' filled-in list goes in
and the page shows the leader's sentence, the table and the interval chart (RULES "What a spot
check tells"), with the numbers pipelines.draws.appraise computes."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from test_pages_appraise import build_appraise_db

from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.draws import spot_check
from pipelines.draws.appraise import appraise

from browser import ARTIFACTS, exceptions_on, login, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser

SEED = "48213907561239847702"
Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
ZZ = load_profile("zhengzhou")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_appraise_db(tmp_path_factory.mktemp("appraise_browser"))


def findings_file(picks, path: Path) -> Path:
    """Two picks checked per hospital; the first pick of every other hospital 不合格 (500 元)."""
    lines = ["申报编号,抽查结论,追回金额,备注"]
    order = sorted(picks, key=lambda p: (p.hospital_id, p.rank))
    hospitals = sorted({p.hospital_id for p in order})
    for p in order:
        if p.rank > 2:
            continue
        bad = p.rank == 1 and hospitals.index(p.hospital_id) % 2 == 0
        lines.append(f"{p.id},{'不合格' if bad else '合格'},{'500' if bad else ''},")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def test_findings_in_estimates_out_in_the_browser(built, users_file, browser, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(built, db)
    c = connect(db)
    res = spot_check(c, *Q3, "10%", SEED, ZZ)
    c.close()
    filled = findings_file(res.picks, tmp_path / "抽查结果.csv")
    expected_db = tmp_path / "expected.duckdb"
    shutil.copy(db, expected_db)
    c = connect(expected_db)
    from pipelines.draws import import_findings

    import_findings(c, res.draw_id, filled)
    want = appraise(c, res.draw_id)
    c.close()
    t = want.total
    sentence = f"{t.frame_n:,} 件中不合格约 {round(t.projected_improper):,} 件"
    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        login(page, url)
        page.get_by_role("link", name="抽查", exact=True).click()
        wait_for_app(page)
        page.locator(".st-key-sc-mode").get_by_text("查看已有抽查").click()
        wait_for_app(page)
        page.get_by_text("录入抽查结论后，这里按抽查结果估计").wait_for()
        box = page.locator("[class*='st-key-sc-upload-']")
        box.locator("input[type=file]").set_input_files(str(filled))
        box.get_by_text(filled.name).wait_for()
        wait_for_app(page)
        page.locator(".st-key-sc-import button").click()
        wait_for_app(page)
        page.get_by_text("已记录抽查结论").wait_for()
        said = page.get_by_text("以 90% 的把握")
        said.wait_for()
        assert sentence in said.inner_text()
        box = page.locator(".st-key-sc-est-box")
        box.locator("[data-testid='stDataFrame']").wait_for()
        box.locator(".js-plotly-plot").wait_for()
        rows = sum(1 for e in want.hospitals if e.checked_n > 0)
        box.locator(".js-plotly-plot .ytick").nth(rows - 1).wait_for()
        assert box.locator(".js-plotly-plot .ytick").count() == rows
        assert exceptions_on(page) == []
        ARTIFACTS.mkdir(exist_ok=True)
        box.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "spotcheck_3_estimates.png"))
        page.close()
