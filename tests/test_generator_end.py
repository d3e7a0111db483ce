"""The generator's --end as an instant (DATA-CUTOFF demo data): the data ends just before it, tasks
are still open at it, the oracle still agrees with an independent SQL reading, and a given seed
and end give the same bytes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from test_generator import FILES, RULES, _load, _sql_findings

from pipelines.ingest import BEIJING
from sample_generator import generate
from sample_generator.__main__ import main

START = dt.date(2026, 10, 1)
END = dt.datetime(2026, 12, 7, 10, 30, 15)  # a Monday morning
LAST_EVENT = """
    select greatest(
        (select max(greatest(submitted_at, coalesce(decided_at, submitted_at))) from cases),
        (select max(greatest(pushed_at, coalesce(responded_at, pushed_at),
                             coalesce(completed_at, pushed_at))) from tasks))
"""


@pytest.fixture(scope="module")
def ended(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ended")
    generate(2_000, seed=21, out=out, start=START, end=END)
    return out


def _bytes(folder: Path) -> dict[str, bytes]:
    names = [f"{n}.csv" for n in FILES] + ["expected_breaches.json"]
    return {n: (folder / n).read_bytes() for n in names}


def test_an_end_instant_is_the_data_cutoff_and_tasks_are_open_at_it(ended: Path) -> None:
    report = json.loads((ended / "expected_breaches.json").read_text(encoding="utf-8"))
    assert report["as_of"] == "2026-12-07 10:30:15"
    assert report["generator"]["end"] == "2026-12-07 10:30:15"
    con = _load(ended)
    last = con.sql(LAST_EVENT).fetchone()[0]
    # nothing after the cut-off, and the morning of the end day already has events
    assert dt.datetime(2026, 12, 7, 8) <= last <= END
    first_today = con.sql(
        "select min(submitted_at) from cases where submitted_at >= '2026-12-07'"
    ).fetchone()[0]
    assert first_today is not None and first_today >= dt.datetime(2026, 12, 7, 8)
    open_tasks = con.sql(
        "select count(*) from tasks "
        "where responded_at is null or (response = '受理' and completed_at is null)"
    ).fetchone()[0]
    assert open_tasks > 0
    found = _sql_findings(con, report["as_of"])
    for rule in RULES:
        assert found[rule] == report["planted"][rule], rule


def test_same_seed_and_end_give_the_same_bytes(ended: Path, tmp_path: Path) -> None:
    generate(2_000, seed=21, out=tmp_path, start=START, end=END)
    assert _bytes(tmp_path) == _bytes(ended)


def test_an_end_day_is_the_same_as_its_last_second(tmp_path: Path) -> None:
    day = END.date()
    generate(500, seed=22, out=tmp_path / "day", start=START, end=day)
    generate(
        500,
        seed=22,
        out=tmp_path / "instant",
        start=START,
        end=dt.datetime(2026, 12, 7, 23, 59, 59),
    )
    day_files, instant_files = _bytes(tmp_path / "day"), _bytes(tmp_path / "instant")
    report = json.loads(day_files.pop("expected_breaches.json"))
    assert report["as_of"] == "2026-12-07 23:59:59"
    instant_files.pop("expected_breaches.json")  # its generator.end names the instant
    assert day_files == instant_files


def test_cli_end_now_ends_the_data_at_the_moment_it_runs(tmp_path: Path) -> None:
    before = dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)
    args = ["--cases", "300", "--seed", "3", "--out", str(tmp_path), "--quiet"]
    assert main([*args, "--start", str(before.date() - dt.timedelta(days=40)), "--end", "now"]) == 0
    after = dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)
    report = json.loads((tmp_path / "expected_breaches.json").read_text(encoding="utf-8"))
    assert before <= dt.datetime.fromisoformat(report["as_of"]) <= after


def test_cli_rejects_a_malformed_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--cases", "300", "--seed", "3", "--out", str(tmp_path), "--end", "yesterday"])
    assert exc.value.code == 2
    assert "--end 应为 now" in capsys.readouterr().err
