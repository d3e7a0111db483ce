"""The Taiyuan pages in a real Chromium on generated Taiyuan data (`sample_generator --city
taiyuan`, ingested under the Taiyuan profile): the Taiyuan sidebar, 认定时效与专家组 with the
mart's numbers, a sanction recorded on 处理决定, and 季度复核's results section.

Screenshots go to test-artifacts/screens/ for a person to look at.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_browser_monitoring import open_section

from pipelines.cli import main as pipelines_main
from pipelines.db import connect
from sample_generator.__main__ import main as generate

from browser import ARTIFACTS, exceptions_on, login, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
SCREENS = ARTIFACTS / "screens"


@pytest.fixture(scope="module")
def ty_db(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("browser-taiyuan")
    out, db = d / "in", d / "ty.duckdb"
    argv = ["--city", "taiyuan", "--cases", "600", "--seed", "7", "--out", str(out), "--quiet"]
    assert generate(argv) == 0
    as_of = json.loads((out / "expected_breaches.json").read_text(encoding="utf-8"))["as_of"]
    ingest = ["ingest", "--db", str(db), "--profile", "taiyuan", str(out), "--cutoff", as_of]
    assert pipelines_main(ingest) == 0
    return db


def shot(page, name: str) -> None:
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": min(int(height) + 40, 8000)})
    wait_for_app(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"))
    page.set_viewport_size({"width": 1440, "height": 900})


def test_taiyuan_pages_on_generated_data(ty_db, users_file, browser):
    c = connect(ty_db)
    try:
        quota, late = c.execute(
            "select sum(quota_cases), sum(cycle_late) from mart_ty_hospital"
        ).fetchone()
        expert_id = c.execute("select min(expert_id) from stg_panel_opinions").fetchone()[0]
    finally:
        c.close()
    assert quota > 0 and late > 0
    with streamlit_server(ty_db, profile="taiyuan", env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        login(page, url)
        nav = page.locator('[data-testid="stSidebarNav"]')
        for title in ("认定时效与专家组", "处理决定", "季度复核"):
            assert nav.get_by_role("link", name=title).count() == 1, title
        for title in ("专家时效", "处置台账", "医院考核"):
            assert nav.get_by_role("link", name=title).count() == 0, title
        assert exceptions_on(page) == []

        open_section(page, "认定时效与专家组", "定额认定病例")
        cards = page.locator('[data-testid="stMetric"]')
        assert (
            cards.filter(has_text="定额认定病例")
            .locator('[data-testid="stMetricValue"]')
            .inner_text()
            == f"{quota:,}"
        )
        assert (
            cards.filter(has_text="认定周期超时")
            .locator('[data-testid="stMetricValue"]')
            .inner_text()
            == f"{late:,}"
        )
        assert exceptions_on(page) == []
        shot(page, "taiyuan-认定时效与专家组")

        open_section(page, "处理决定", "全部处理决定")
        page.get_by_label("处理对象（医生编码 / 医院编码 / 身份证号）").fill(expert_id)
        page.get_by_label("处理理由（必填）").fill("违规出具认定意见")
        page.get_by_role("button", name="记录处理决定").click()
        page.get_by_text("已记录处理决定 SN-").wait_for(timeout=120_000)
        wait_for_app(page)
        total = page.locator('[data-testid="stMetric"]').filter(has_text="全部处理决定")
        assert total.locator('[data-testid="stMetricValue"]').inner_text() == "1"
        assert exceptions_on(page) == []
        shot(page, "taiyuan-处理决定")

        open_section(page, "季度复核", "复核日历")
        page.get_by_text("复核结果与公示").click()
        page.get_by_text("还没有季度复核病例抽取记录").wait_for(timeout=60_000)
        assert exceptions_on(page) == []
        shot(page, "taiyuan-季度复核结果")
