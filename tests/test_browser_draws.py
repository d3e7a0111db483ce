"""The draw pages in the real Streamlit server and a real Chromium: a full spot check (digest →
seed → draw → retrieval list → findings back in) and a meeting draw with one replacement, with
screenshots of the projector view and the PDF record in test-artifacts/."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipelines.config import ROOT, load_profile
from pipelines.db import connect
from pipelines.draws import spot_check
from pipelines.ingest import ingest
from pipelines.rules import refresh_marts
from sample_generator.core import DEFAULT_END, generate

from browser import (
    ARTIFACTS,
    choose,
    exceptions_on,
    login,
    streamlit_server,
    wait_for_app,
)
from browser import download as browser_download

pytestmark = pytest.mark.browser

SEED = "48213907561239847702"
Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
HEADERS = ["申报编号", "姓名", "身份证号", "医院编码", "医院名称", "院内序号", "病种名称"]
HEADERS += ["办结时间", "密钥", "抽查结论", "追回金额", "备注"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("draw_browser")
    generate(cases=2000, seed=20261122, out=d / "in")
    c = connect(d / "built.duckdb")
    ingest(c, [d / "in"], log=lambda _m: None)
    refresh_marts(
        c, dt.datetime.combine(DEFAULT_END, dt.time(23, 59, 59)), load_profile("zhengzhou")
    )
    c.close()
    return d / "built.duckdb"


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    shutil.copy(built, tmp_path / "w.duckdb")
    return tmp_path / "w.duckdb"


def widget(page, key: str):
    return page.locator(f".st-key-{key}")


def fill(page, key: str, text: str) -> None:
    box = widget(page, key).locator("input")
    box.fill(text)
    box.press("Enter")
    wait_for_app(page)


def click(page, key: str) -> None:
    widget(page, key).locator("button").click()
    wait_for_app(page)


def download(page, key: str, target: Path) -> Path:
    # the button by its label: a help text adds a second button (its tooltip icon)
    button = widget(page, key).get_by_role("button", name=re.compile("下载"))
    return browser_download(page, button, target)


def upload(page, path: Path) -> None:
    """Put a file into the findings uploader and wait until the server has it."""
    box = page.locator("[class*='st-key-sc-upload-']")
    box.locator("input[type=file]").set_input_files(str(path))
    box.get_by_text(path.name).wait_for()
    wait_for_app(page)


def projector_shot(page, name: str) -> Path:
    """A screenshot of what the room sees: the viewport with the projector block at its top."""
    block = page.locator(".mtb-proj").first
    block.wait_for()
    block.scroll_into_view_if_needed()
    page.evaluate(
        "() => { const b = document.querySelector('.mtb-proj');"
        " b.scrollIntoView({block: 'start'}); }"
    )
    page.wait_for_timeout(400)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def metric(page, label: str) -> str:
    """A metric's value, once the page has rendered it (a rerun may still be drawing)."""
    page.locator('[data-testid="stMetricLabel"]').filter(has_text=label).first.wait_for()
    wait_for_app(page)
    for m in page.query_selector_all('[data-testid="stMetric"]'):
        if m.query_selector('[data-testid="stMetricLabel"]').inner_text().strip() == label:
            return m.query_selector('[data-testid="stMetricValue"]').inner_text().strip()
    raise AssertionError(f"no metric {label}")


def test_full_spot_check_in_the_browser(db, built, users_file, browser, tmp_path):
    expected_db = tmp_path / "expected.duckdb"
    shutil.copy(built, expected_db)
    expected = spot_check(connect(expected_db), *Q3, "10%", SEED, load_profile("zhengzhou"))
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
        login(page, url)
        page.get_by_role("link", name="抽查", exact=True).click()
        wait_for_app(page)
        choose(page, "sc-quarter", "2026Q3")
        assert widget(page, "sc-seed").count() == 0  # no seed field before the freeze
        fill(page, "sc-supervisor", "王纪检")
        click(page, "sc-freeze")
        widget(page, "sc-seed").wait_for()
        digest = re.sub(r"\s", "", page.locator(".mtb-proj .digest").inner_text())
        assert digest == expected.record.population_digest
        assert f"{expected.record.population_size:,}" in page.locator(".mtb-proj").inner_text()
        projector_shot(page, "spotcheck_1_frozen.png")

        fill(page, "sc-seed", SEED)
        click(page, "sc-draw-go")
        widget(page, "sc-list-dl-xlsx").wait_for()
        assert exceptions_on(page) == []
        assert metric(page, "抽取件数") == f"{len(expected.picks):,}"
        page.screenshot(path=str(ARTIFACTS / "spotcheck_2_result.png"))

        xlsx = download(page, "sc-list-dl-xlsx", tmp_path)
        assert re.fullmatch(r"抽查名单_2026Q3_\d{8}\.xlsx", xlsx.name), xlsx.name
        wb = load_workbook(xlsx)
        rows = list(wb.active.iter_rows(values_only=True))
        assert list(rows[0]) == HEADERS
        assert len(rows) - 1 == len(expected.picks)
        assert sorted((r[0], r[8]) for r in rows[1:]) == sorted(
            (p.id, p.key) for p in expected.picks
        )
        csv = download(page, "sc-list-dl-csv", tmp_path)
        assert csv.read_bytes().startswith(b"\xef\xbb\xbf")

        population = download(page, "sc-pub-population", tmp_path)
        result = download(page, "sc-pub-result", tmp_path)
        check = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tools" / "verify_draw.py"),
                "--seed",
                SEED,
                "--population",
                str(population),
                "--strata-column",
                "hospital_id",
                "--rate",
                "10%",
                "--result",
                str(result),
                "--digest",
                expected.record.population_digest,
            ],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert "OK" in check.stdout

        # the inspectors' findings come back in the same file
        ws = wb.active
        ws.cell(row=2, column=10, value="不合格")
        ws.cell(row=2, column=11, value=1200.5)
        ws.cell(row=2, column=12, value="病历与诊断不符")
        ws.cell(row=3, column=10, value="合格")
        ws.cell(row=3, column=11, value=300)  # 合格 with money to recover: refused
        bad = tmp_path / "抽查结果_有误.xlsx"
        wb.save(bad)
        upload(page, bad)
        click(page, "sc-import")
        error = page.get_by_text("导入失败").inner_text()
        assert "第 3 行" in error and "合格" in error, error
        assert metric(page, "已核查") == "0"

        ws.cell(row=3, column=11).value = None
        good = tmp_path / "抽查结果.xlsx"
        wb.save(good)
        upload(page, good)
        click(page, "sc-import")
        page.get_by_text("已记录抽查结论 2 条").wait_for()
        assert metric(page, "已核查") == "2"
        assert metric(page, "不合格") == "1"
        assert metric(page, "追回金额（元）") == "1,200.50"
        assert exceptions_on(page) == []
        page.close()


def test_meeting_draw_with_a_replacement_in_the_browser(db, users_file, browser, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, accept_downloads=True)
        login(page, url)
        page.get_by_role("link", name="双随机抽取").click()
        wait_for_app(page)
        choose(page, "md-specialty", "心血管内科")
        fill(page, "md-supervisor", "王纪检")
        click(page, "md-freeze")
        widget(page, "md-lock").wait_for()
        frozen = page.locator(".mtb-proj").inner_text()
        assert "候选专家人数" in frozen and "名单摘要 SHA-256" in frozen
        assert len(re.sub(r"\s", "", page.locator(".mtb-proj .digest").inner_text())) == 64
        projector_shot(page, "meeting_1_frozen.png")

        fill(page, "md-seed", SEED)
        click(page, "md-lock")
        widget(page, "md-reveal").wait_for()
        widget(page, "md-seed").wait_for(state="detached")  # the seed is locked: no field
        assert widget(page, "md-lock").count() == 0
        assert SEED in page.locator(".mtb-proj .seed").inner_text()
        assert page.locator(".mtb-proj .card.wait").count() == 5
        for shown in range(1, 6):
            click(page, "md-reveal")
            page.wait_for_function(
                f"() => document.querySelectorAll('.mtb-proj .card:not(.wait)').length === {shown}"
            )
            if shown == 2:
                projector_shot(page, "meeting_2_reveal_2_of_5.png")
        widget(page, "md-reveal").wait_for(state="detached")  # all shown: no more reveals
        projector_shot(page, "meeting_3_all_revealed.png")

        second = page.locator(".mtb-proj .card .id").nth(1).inner_text().strip()
        choose(page, "md-out", second)
        widget(page, "md-reason-field").locator("input").fill("本人因病不能参加")
        click(page, "md-replace")
        page.get_by_text(f"{second} 由").wait_for()
        swap = page.locator(".mtb-proj .swap").inner_text()
        assert second in swap and "本人因病不能参加" in swap
        assert exceptions_on(page) == []
        projector_shot(page, "meeting_4_replacement.png")

        internal = download(page, "md-pdf-internal", tmp_path)
        public = download(page, "md-pdf-public", tmp_path)
        for pdf, stem in ((internal, "meeting_record"), (public, "meeting_record_public")):
            subprocess.run(
                ["pdftoppm", "-png", "-r", "80", str(pdf), str(ARTIFACTS / stem)], check=True
            )
        text = subprocess.run(
            ["pdftotext", str(internal), "-"], capture_output=True, text=True, check=True
        ).stdout
        public_text = subprocess.run(
            ["pdftotext", str(public), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "王纪检" in text and "本人因病不能参加" in text and SEED in text
        assert "王纪检" not in public_text and SEED in public_text
        page.close()
