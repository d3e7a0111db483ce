"""Load: 20 browser sessions on the real server while one supervisor uploads and another draws.

Run with `make test-load` (not part of `make test`: it takes a few minutes). Every session must
see no error, and every page view must show either the data before the upload or after it.
Page times (p50/p95) are written to bench/LOAD_RESULTS.md.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
import traceback
from pathlib import Path

import pytest

from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.ingest import ingest
from pipelines.rules import refresh_marts
from pipelines.users import ensure_demo
from sample_generator import generate

from browser import CHROMIUM, CHROMIUM_ARGS, exceptions_on, login, streamlit_server, wait_for_app

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = 20
PAGES = ["总览", "专家时效", "医院考核", "规则核查", "劳务费与归档", "数据"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import pandas as pd

    d = tmp_path_factory.mktemp("load")
    generate(cases=20_000, seed=11, out=d / "all")
    # The upload brings the last month's cases and their tasks: new rows, never a rewrite.
    cases = pd.read_csv(d / "all" / "cases.csv", dtype=str, keep_default_na=False)
    tasks = pd.read_csv(d / "all" / "tasks.csv", dtype=str, keep_default_na=False)
    late = cases["submitted_at"] >= "2026-10-20"
    late_ids = set(cases.loc[late, "case_id"])
    for name, frames in {
        "in": (cases[~late], tasks[~tasks["case_id"].isin(late_ids)]),
        "more": (cases[late], tasks[tasks["case_id"].isin(late_ids)]),
    }.items():
        (d / name).mkdir()
        frames[0].to_csv(d / name / "cases.csv", index=False)
        frames[1].to_csv(d / name / "tasks.csv", index=False)
    for ref in ("hospitals.csv", "experts.csv"):
        (d / "in" / ref).write_bytes((d / "all" / ref).read_bytes())
    con = connect(d / "w.duckdb")
    ingest(con, [d / "in"], log=lambda _m: None)
    refresh_marts(con, dt.datetime(2026, 10, 19, 23, 59, 59), load_profile("zhengzhou"))
    before = con.execute("select count(*) from stg_cases").fetchone()[0]
    con.close()
    users = d / "users.json"
    ensure_demo(users)
    return d, before


def _cases_metric(page) -> int:
    page.locator('[data-testid="stMetricLabel"]').filter(has_text="申报件数").first.wait_for()
    for m in page.query_selector_all('[data-testid="stMetric"]'):
        if m.query_selector('[data-testid="stMetricLabel"]').inner_text().strip() == "申报件数":
            return int(
                m.query_selector('[data-testid="stMetricValue"]').inner_text().replace(",", "")
            )
    raise AssertionError("no 申报件数 metric")


def test_twenty_sessions_during_an_upload_and_a_draw(world):
    from playwright.sync_api import sync_playwright

    d, before = world
    timings: list[float] = []
    errors: list[str] = []
    seen_counts: set[int] = set()
    lock = threading.Lock()

    with streamlit_server(d / "w.duckdb", env={"MTB_USERS": str(d / "users.json")}) as url:

        def guarded(name: str, body) -> None:
            """A thread's failure is a test failure, not a warning."""
            try:
                body()
            except Exception:
                with lock:
                    errors.append(f"{name}: {traceback.format_exc(limit=3)}")

        def session(i: int) -> None:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = b.new_context(viewport={"width": 1280, "height": 800}).new_page()
                page.set_default_timeout(180_000)
                try:
                    login(page, url)
                    for rnd in range(3):
                        for name in PAGES:
                            t0 = time.monotonic()
                            # sidebar navigation keeps the logged-in session (a URL load would not)
                            page.get_by_role("link", name=name).click()
                            wait_for_app(page)
                            with lock:
                                timings.append(time.monotonic() - t0)
                            if exc := exceptions_on(page):
                                with lock:
                                    errors.append(f"session {i} page {name!r} round {rnd}: {exc}")
                            if name == "总览":
                                with lock:
                                    seen_counts.add(_cases_metric(page))
                finally:
                    b.close()

        def supervisor_upload() -> None:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = b.new_page()
                page.set_default_timeout(180_000)
                login(page, url)
                page.get_by_role("link", name="数据").click()
                wait_for_app(page)
                files = [str(f) for f in sorted((d / "more").glob("*.csv"))]
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(files)
                page.get_by_role("button", name="导入").click()
                page.get_by_text("统计表已按").wait_for(timeout=180_000)
                b.close()

        def supervisor_draw() -> None:
            from test_browser_draws import choose, click, fill, widget

            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = b.new_page(viewport={"width": 1600, "height": 1000})
                page.set_default_timeout(180_000)
                try:
                    login(page, url)
                    page.get_by_role("link", name="双随机抽取").click()
                    wait_for_app(page)
                    choose(page, "md-specialty", "心血管内科")
                    fill(page, "md-supervisor", "王纪检")
                    click(page, "md-freeze")
                    widget(page, "md-lock").wait_for(timeout=120_000)
                    fill(page, "md-seed", "31415926535897932384")
                    click(page, "md-lock")
                    widget(page, "md-reveal").wait_for(timeout=120_000)
                    if exc := exceptions_on(page):
                        with lock:
                            errors.append(f"draw: {exc}")
                finally:
                    b.close()

        threads = [
            threading.Thread(target=guarded, args=(f"session {i}", lambda i=i: session(i)))
            for i in range(SESSIONS)
        ]
        threads.append(threading.Thread(target=guarded, args=("upload", supervisor_upload)))
        threads.append(threading.Thread(target=guarded, args=("draw", supervisor_draw)))
        for t in threads:
            t.start()
            time.sleep(1.0)
        for t in threads:
            t.join(timeout=900)

    from pipelines.draws import verify_log

    con = connect(d / "w.duckdb")
    after = con.execute("select count(*) from stg_cases").fetchone()[0]
    kinds = [r[0] for r in con.execute("select kind from draw_log order by record_no").fetchall()]
    chain = verify_log(con)
    con.close()
    assert kinds == ["population_frozen", "expert_draw"], kinds  # one complete draw record
    assert chain.ok, chain.message
    assert errors == []
    assert len(timings) == SESSIONS * len(PAGES) * 3  # every session saw every page
    assert after > before
    assert seen_counts <= {before, after}, seen_counts  # old or new, never a mix
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    out = ROOT / "bench" / "LOAD_RESULTS.md"
    out.write_text(
        "# Dashboard under load\n\n"
        f"{dt.datetime.now():%Y-%m-%d %H:%M}: {SESSIONS} browser sessions × {len(PAGES)} pages × 3 rounds "
        f"while a supervisor uploaded {after - before:,} new cases.\n\n"
        f"| page views | p50 | p95 | max | errors |\n|---|---|---|---|---|\n"
        f"| {len(timings)} | {statistics.median(timings):.2f} s | {p95:.2f} s | {timings[-1]:.2f} s | {len(errors)} |\n",
        encoding="utf-8",
    )
