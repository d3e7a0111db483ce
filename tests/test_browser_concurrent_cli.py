"""The dashboard and the command line together (issue 13 item 1), in a real Chromium.

Two sessions keep pages open on the real server while command-line reads (`strikes`, `kpis`)
and writes (`ingest` of one more hospital, `dispute`, `draw-experts`) run beside them as their
own processes: each exits 0 (before read snapshots, every one stopped with "Conflicting lock"
after MTB_LOCK_WAIT while the dashboard was open), and the pages show the new data on their
next run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_browser_actions import choose
from test_pages_actions import build_actions_db

from browser import ROOT, exceptions_on, login, streamlit_server, wait_for_app
from test_ingest import HOSPITALS, write_csv

pytestmark = pytest.mark.browser


def cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    """A command as its own process; it may wait for the file at most 20 s."""
    env = {**os.environ, "MTB_LOCK_WAIT": "20"}
    run = subprocess.run(
        [sys.executable, "-m", "pipelines", args[0], "--db", str(db), *args[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, (args, run.stderr[-2000:])
    return run


def metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def cli_beside_the_dashboard(db: Path, tmp: Path) -> None:
    cli(db, "strikes", "--year", "2026", "--out", str(tmp / "strikes.csv"))
    assert "E1" in (tmp / "strikes.csv").read_text(encoding="utf-8-sig")
    cli(db, "kpis", "--month", "2026-03", "--out", str(tmp / "kpis.csv"))
    assert (tmp / "kpis.csv").stat().st_size > 0
    rows = [HOSPITALS[0], ["H9", "新增医院", "二类", "民营", "金水区"]]
    (tmp / "extra").mkdir()
    extra = write_csv(tmp / "extra" / "hospitals.csv", rows).parent
    cli(db, "ingest", "--cutoff", "2026-12-31 00:00:00", str(extra))
    cli(db, "dispute", "--task", "T2", "--decision", "void", "--reason", "推送失败", "--by", "cli")
    cli(db, "draw-experts", "--specialty", "内分泌科", "--n", "1", "--seed", "42",
        "--out", str(tmp / "draw.csv"))  # fmt: skip
    assert "E" in (tmp / "draw.csv").read_text(encoding="utf-8-sig")


def test_commands_read_and_write_while_two_sessions_are_open(tmp_path, users_file, browser):
    db = build_actions_db(tmp_path)
    with streamlit_server(db, env={"MTB_USERS": str(users_file)}) as url:
        ledger = browser.new_page(viewport={"width": 1440, "height": 900})
        login(ledger, url)
        ledger.get_by_role("link", name="处置台账").click()
        ledger.get_by_text("短信通知：待处置 1 项").wait_for(timeout=60_000)
        choose(ledger, "act-action", "通报所在医院")
        choose(ledger, "act-status", "已撤销")
        ledger.get_by_text("通报所在医院：已撤销 0 项").wait_for(timeout=60_000)
        home = browser.new_page(viewport={"width": 1440, "height": 900})
        login(home, url, "admin", "admin2026")
        assert metric(home, "定点医疗机构") == "1"

        cli_beside_the_dashboard(db, tmp_path)

        choose(ledger, "act-status", "待处置")  # the next run reads the new snapshot
        choose(ledger, "act-status", "已撤销")
        ledger.get_by_text("通报所在医院：已撤销 1 项").wait_for(timeout=60_000)  # T2, voided
        home.get_by_role("link", name="处置台账").click()
        wait_for_app(home)
        home.get_by_role("link", name="总览").click()
        home.locator('[data-testid="stMetric"]').filter(has_text="定点医疗机构").filter(
            has_text="2"
        ).wait_for(timeout=60_000)
        assert exceptions_on(ledger) == [] and exceptions_on(home) == []
        ledger.close()
        home.close()
