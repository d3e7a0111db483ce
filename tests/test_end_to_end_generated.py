"""Generated data through the real CLI: every planted breach is found, a clean dataset has none."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from sample_generator import generate

ID_COLUMN = {
    "ZZ-ACCEPT": "task_id",
    "ZZ-COMPLETE": "task_id",
    "ZZ-STRIKE-AFTER": "task_id",
    "ZZ-EXPERT-QUAL": "expert_id",
}


def _run(tmp: Path, breaches: bool, bad_rows: int = 0) -> tuple[Path, dict]:
    expected = generate(cases=6000, seed=31, out=tmp / "in", breaches=breaches, bad_rows=bad_rows)
    db = tmp / "w.duckdb"
    argv = ["ingest", "--db", str(db), "--as-of", expected["as_of"], "--cutoff", expected["as_of"]]
    assert main([*argv, str(tmp / "in")]) == 0
    return db, expected


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("planted"), breaches=True, bad_rows=12)


def test_every_planted_violation_is_found_exactly(planted, tmp_path):
    db, expected = planted
    out = tmp_path / "v.csv"
    assert (
        main(["violations", "--db", str(db), "--as-of", expected["as_of"], "--out", str(out)]) == 0
    )
    rows = _csv(out)
    assert Counter(r["rule_id"] for r in rows) == {
        k: v for k, v in expected["violations"].items() if v
    }
    for rule, ids in expected["planted"].items():
        if rule == "disqualified_experts":
            continue
        col = ID_COLUMN.get(rule, "case_id")
        found = {r[col] for r in rows if r["rule_id"] == rule}
        assert set(ids) <= found, rule


def test_strikes_actions_and_disqualifications_match(planted, tmp_path):
    db, expected = planted
    found = Counter()
    actions = Counter()
    for year, kinds in expected["strikes_by_year"].items():
        out = tmp_path / f"s{year}.csv"
        assert (
            main(
                [
                    "strikes",
                    "--db",
                    str(db),
                    "--year",
                    year,
                    "--as-of",
                    expected["as_of"],
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        rows = _csv(out)
        assert Counter(r["kind"] for r in rows) == {k: v for k, v in kinds.items() if v}
        found.update(r["kind"] for r in rows)
        actions.update(r["action"] for r in rows)
    assert found == {k: v for k, v in expected["strikes"].items() if v}
    assert actions == {k: v for k, v in expected["strike_actions"].items() if v}


def test_penalised_hospitals_match(planted, tmp_path):
    db, expected = planted
    for year, hospitals in expected["hospital_penalties"].items():
        out = tmp_path / f"p{year}.csv"
        assert (
            main(
                [
                    "penalties",
                    "--db",
                    str(db),
                    "--year",
                    year,
                    "--as-of",
                    expected["as_of"],
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        assert sorted(r["hospital_id"] for r in _csv(out) if r["penalized"] == "true") == sorted(
            hospitals
        )


def test_bad_rows_are_quarantined_per_file(planted):
    db, expected = planted
    con = duckdb.connect(str(db), read_only=True)
    got = dict(con.execute("select table_name, count(*) from quarantine group by all").fetchall())
    loaded = dict(
        con.execute("select table_name, sum(rows_accepted) from load_log group by all").fetchall()
    )
    con.close()
    assert {t: got.get(t, 0) for t in expected["quarantine"]} == expected["quarantine"]
    assert {t: int(loaded[t]) for t in expected["rows"]} == expected["rows"]


def test_marts_refreshed_by_ingest_agree_with_the_cli(planted):
    db, expected = planted
    con = duckdb.connect(str(db), read_only=True)
    as_of = con.execute("select as_of from mart_meta").fetchone()[0]
    per_rule = dict(
        con.execute("select rule_id, count(*) from mart_violations group by all").fetchall()
    )
    con.close()
    assert as_of == dt.datetime.fromisoformat(expected["as_of"])
    assert per_rule == {k: v for k, v in expected["violations"].items() if v}


def test_a_dataset_without_breaches_breaks_no_rule(tmp_path):
    db, expected = _run(tmp_path, breaches=False)
    out = tmp_path / "v.csv"
    assert (
        main(["violations", "--db", str(db), "--as-of", expected["as_of"], "--out", str(out)]) == 0
    )
    assert _csv(out) == []
    for year in ("2025", "2026"):
        s = tmp_path / f"s{year}.csv"
        assert (
            main(
                [
                    "strikes",
                    "--db",
                    str(db),
                    "--year",
                    year,
                    "--as-of",
                    expected["as_of"],
                    "--out",
                    str(s),
                ]
            )
            == 0
        )
        assert _csv(s) == []
    assert json.dumps(expected["violations"]) == json.dumps(
        dict.fromkeys(expected["violations"], 0)
    )
