"""`python -m sample_generator --city taiyuan`: realistic Taiyuan data whose planted breaches the
Taiyuan rules find exactly (violations per rule == expected_breaches.json), and quiet when
nothing is planted."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from pipelines.config import load_profile
from pipelines.db import connect
from pipelines.evaltime import resolve
from pipelines.ingest import ingest
from pipelines.rules import violations
from sample_generator.__main__ import main
from sample_generator.taiyuan import DISTRICTS

TY = load_profile("taiyuan")


def generate_and_check(tmp_path: Path, *flags: str) -> tuple[dict, Counter, Path]:
    out = tmp_path / "ty"
    args = ["--city", "taiyuan", "--cases", "1500", "--seed", "11", "--out", str(out), "--quiet"]
    assert main([*args, *flags]) == 0
    expected = json.loads((out / "expected_breaches.json").read_text(encoding="utf-8"))
    con = connect(tmp_path / "ty.duckdb")
    try:
        reports = ingest(con, [out], loaded_by="test", log=lambda _m: None)
        assert sum(r.quarantined for r in reports) == 0
        as_of = resolve(con, None).facts_at
        found = Counter(r["rule_id"] for r in violations(con, as_of, TY).to_pylist())
    finally:
        con.close()
    return expected, found, out


def test_planted_breaches_are_found_exactly_per_rule(tmp_path):
    expected, found, out = generate_and_check(tmp_path)
    planted = {rule: n for rule, n in expected["violations"].items() if n}
    assert set(planted) >= {"TY-CYCLE", "TY-PUBLICITY", "TY-ENTRY", "TY-BENEFIT", "TY-RECERT"}
    assert planted["TY-PANEL"] >= 3  # too few, another hospital's, one without the title
    assert dict(found) == planted
    with (out / "cases.csv").open(encoding="utf-8") as fh:
        cases = list(csv.DictReader(fh))
    assert Counter(c["category"] for c in cases).keys() == {"定额", "非定额"}
    with (out / "hospitals.csv").open(encoding="utf-8") as fh:
        assert {h["district"] for h in csv.DictReader(fh)} == set(DISTRICTS)


def test_clean_taiyuan_data_is_quiet(tmp_path):
    expected, found, _out = generate_and_check(tmp_path, "--no-breaches")
    assert set(expected["violations"].values()) == {0}
    assert found == Counter()
