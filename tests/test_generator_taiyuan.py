"""`python -m sample_generator --city taiyuan`: realistic Taiyuan data whose planted breaches the
Taiyuan rules find exactly (violations per rule == expected_breaches.json), and quiet when
nothing is planted."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.evaltime import resolve
from pipelines.ingest import ingest
from pipelines.rules import violations
from sample_generator.__main__ import main
from sample_generator.taiyuan import DISTRICTS

TY = load_profile("taiyuan")


# (flags, first submission day, the data cut-off): the default period, a year the calendar has
# from 2024, the notice's year ending at an instant (later cases not yet submitted), the old one
RANGES = [
    ((), "2025-11-01", "2026-11-20 23:59:59"),
    (("--start", "2024-03-01", "--end", "2024-09-30"), "2024-03-01", "2024-09-30 23:59:59"),
    (
        ("--start", "2025-12-01", "--end", "2026-06-15 10:30:00"),
        "2025-12-01",
        "2026-06-15 10:30:00",
    ),
    (("--start", "2026-01-05", "--end", "2026-10-30"), "2026-01-05", "2026-10-30 23:59:59"),
]


def generate_and_check(tmp_path: Path, *flags: str) -> tuple[dict, Counter, Path]:
    """Generate, ingest at the generator's cut-off as `make run-taiyuan` does (every row
    accepted or quarantined as the report says) and count the violations per rule."""
    out = tmp_path / "ty"
    args = ["--city", "taiyuan", "--cases", "1500", "--seed", "11", "--out", str(out), "--quiet"]
    assert main([*args, *flags]) == 0
    expected = json.loads((out / "expected_breaches.json").read_text(encoding="utf-8"))
    as_of = dt.datetime.fromisoformat(expected["as_of"])
    con = connect(tmp_path / "ty.duckdb")
    try:
        reports = ingest(con, [out], loaded_by="test", log=lambda _m: None, cutoff=as_of)
        assert all(r.read == r.accepted + r.quarantined for r in reports)
        quarantined = {r.table: r.quarantined for r in reports if r.quarantined}
        assert quarantined == {f: n for f, n in expected.get("quarantine", {}).items() if n}
        assert resolve(con, None).facts_at == as_of
        found = Counter(r["rule_id"] for r in violations(con, as_of, TY).to_pylist())
    finally:
        con.close()
    return expected, found, out


def read_rows(out: Path, name: str) -> list[dict[str, str]]:
    with (out / f"{name}.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(("flags", "first", "cutoff"), RANGES)
def test_planted_breaches_are_found_exactly_per_rule(tmp_path, flags, first, cutoff):
    expected, found, out = generate_and_check(tmp_path, *flags)
    assert expected["as_of"] == cutoff
    planted = {rule: n for rule, n in expected["violations"].items() if n}
    assert set(planted) >= {"TY-CYCLE", "TY-PUBLICITY", "TY-ENTRY", "TY-BENEFIT", "TY-RECERT"}
    assert planted["TY-PANEL"] >= 3  # too few, another hospital's, one without the title
    assert dict(found) == planted
    cases = read_rows(out, "cases")
    submitted = sorted(c["submitted_at"] for c in cases)
    assert first <= submitted[0] and submitted[-1] <= cutoff
    assert submitted[-1][:7] == cutoff[:7]  # the period is used up to its end
    assert Counter(c["category"] for c in cases).keys() == {"定额", "非定额"}
    assert {h["district"] for h in read_rows(out, "hospitals")} == set(DISTRICTS)
    events = [t[k] for t in read_rows(out, "tasks") for k in ("responded_at", "completed_at")]
    events += [r["completed_at"] for r in read_rows(out, "recerts")]
    assert max(e for e in events if e) <= cutoff


def test_clean_taiyuan_data_is_quiet(tmp_path):
    expected, found, _out = generate_and_check(tmp_path, "--no-breaches")
    assert set(expected["violations"].values()) == {0}
    assert found == Counter()


def test_bad_rows_are_quarantined_as_counted_and_the_breaches_still_exact(tmp_path):
    expected, found, _out = generate_and_check(tmp_path, "--bad-rows", "14")
    assert sum(expected["quarantine"].values()) == 14
    assert set(expected["quarantine"]) == {
        "hospitals", "experts", "cases", "tasks", "panel_opinions", "recerts"
    }  # fmt: skip
    assert dict(found) == {rule: n for rule, n in expected["violations"].items() if n}


@pytest.mark.parametrize(
    ("flags", "status", "message"),
    [
        # the 20 working days after 2026-12-20 (TY-CYCLE, TY-RECERT) reach into 2027
        (("--end", "2026-12-20"), 1, "工作日日历未包含 2027 年"),
        (("--start", "2003-12-01", "--end", "2004-08-31"), 1, "工作日日历未包含 2003 年"),
        # 2026-09-01 … 10-15: 22 working days in September (Sun 20 a make-up day, Fri 25
        # Mid-Autumn off) and 7 in October (1–7 off; 8, 9, Sat 10 a make-up day, 12–15)
        (("--start", "2026-09-01", "--end", "2026-10-15"), 2, "仅含 29 个工作日"),
        (("--start", "2026-05-01", "--end", "2026-01-01"), 2, "--start 2026-05-01 晚于 --end"),
    ],
)
def test_a_period_the_calendar_or_the_plants_cannot_hold_is_refused(
    tmp_path, capsys, flags, status, message
):
    args = ["--city", "taiyuan", "--cases", "500", "--seed", "1", "--out", str(tmp_path / "x")]
    assert main([*args, "--quiet", *flags]) == status
    err = capsys.readouterr().err
    assert message in err and err.startswith("错误 (")
    assert not (tmp_path / "x").exists()
