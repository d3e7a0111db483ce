"""The benchmark's browser stage: every page clicked in Chromium against the real server.

`make bench` reports, per page, the time from the click on the sidebar link until the run has
finished and the page is on screen (target ≤ 1.5 s warm at province-year). This runs the same
worker on a small warehouse so the stage cannot rot unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dashboard.nav import SECTIONS
from pipelines import cli
from sample_generator import generate

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
    out = tmp_path / "render.json"
    spec = {"kind": "render", "db": str(db), "rounds": 2, "out": str(out)}
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
    assert set(result["pages"]) == {title for pages in SECTIONS.values() for _f, title, *_ in pages}
    for link, times in result["pages"].items():
        assert len(times) == 2 and all(0 < t < 120 for t in times), (link, times)
    assert result["rss_mb"] > 50  # the server's own peak, found by its port
