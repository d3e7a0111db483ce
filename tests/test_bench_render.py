"""The benchmark's browser stage: every page clicked in Chromium against the real server.

`make bench` reports, per page, the time from the click on the sidebar link until the run has
finished and the page is on screen (target ≤ 1.0 s warm at province-year). This runs the same
worker on a small warehouse so the stage cannot rot unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import run
from dashboard.nav import SECTIONS, TY_SECTIONS
from pipelines import cli
from sample_generator import generate
from sample_generator.__main__ import main as generate_city

ROOT = Path(__file__).resolve().parent.parent


def test_render_worker_times_every_page_in_chromium(tmp_path):
    generate(cases=400, seed=5, out=tmp_path / "in")
    db = tmp_path / "w.duckdb"
    assert (
        cli.main(
            ["ingest", "--db", str(db), "--as-of", "2026-11-20 23:59:59", str(tmp_path / "in")]
        )
        == 0
    )
    result = render(db, tmp_path, "zhengzhou")
    assert set(result["pages"]) == {title for pages in SECTIONS.values() for _f, title, *_ in pages}


def test_render_worker_times_taiyuans_sidebar(tmp_path):
    out, db = tmp_path / "in", tmp_path / "ty.duckdb"
    argv = ["--city", "taiyuan", "--cases", "300", "--seed", "7", "--out", str(out), "--quiet"]
    assert generate_city(argv) == 0
    as_of = json.loads((out / "expected_breaches.json").read_text(encoding="utf-8"))["as_of"]
    ingest = ["ingest", "--db", str(db), "--profile", "taiyuan", str(out), "--cutoff", as_of]
    assert cli.main(ingest) == 0
    result = render(db, tmp_path, "taiyuan")
    titles = {title for pages in TY_SECTIONS.values() for _f, title, *_ in pages}
    assert set(result["pages"]) == titles
    assert {"认定时效与专家组", "处理决定"} <= titles and "专家时效" not in titles


def render(db: Path, tmp_path: Path, profile: str) -> dict:
    """The render worker on the warehouse with a city's sidebar, 2 rounds: its JSON result."""
    out = tmp_path / "render.json"
    spec = {"kind": "render", "db": str(db), "rounds": 2, "out": str(out), "profile": profile}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.stages", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["errors"] == []
    for link, times in result["pages"].items():
        assert len(times) == 2 and all(0 < t < 120 for t in times), (link, times)
    assert result["rss_mb"] > 50  # the server's own peak, found by its port
    return result


def test_pages_against_a_given_warehouse_take_db_and_city(tmp_path):
    db = tmp_path / "w.duckdb"
    db.write_bytes(b"")
    args = run.parse_args(["--only", "pages", "--db", str(db), "--city", "taiyuan"])
    assert (args.db, args.city, args.groups) == (db, "taiyuan", ["pages"])
    with pytest.raises(SystemExit):  # the other stages need the generated workloads
        run.parse_args(["--only", "pages,rules", "--db", str(db)])
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "pages", "--db", str(tmp_path / "missing.duckdb")])


def test_rendered_pages_are_held_to_one_second_warm():
    rows = [
        run.Row("rendered 总览 (warm)", run.TARGET_WORKLOAD, [t, t, t], batch=False)
        for t in (0.99, 1.01)
    ]
    run.judge(rows)
    assert [r.checks for r in rows] == [[("≤ 1.0 s", True)], [("≤ 1.0 s", False)]]


def test_the_page_stage_opens_the_views_of_the_citys_sidebar():
    assert run.sidebar_views("zhengzhou") == [
        "home", "actions", "audit_log", "data", "experts", "fees", "hospitals",
        "meeting_draw", "review", "spot_check", "violations",
    ]  # fmt: skip
    taiyuan = run.sidebar_views("taiyuan")
    assert taiyuan[0] == "home" and {"ty_measures", "ty_sanctions"} <= set(taiyuan)
    assert "experts" not in taiyuan and "hospitals" not in taiyuan
