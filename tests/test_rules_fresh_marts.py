"""The rule functions read the tables `refresh_marts` built only while those are current.

`mart_meta` records the evaluation time, the rule profile and SQL, the last load, the staging
tables' row counts and load ids and the calendar; the functions (and so the CLI verbs) read the
marts when all of it matches and compute from the staging tables otherwise. Either way the answer
is the one a computation from scratch gives, byte for byte in the CLI's files.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
from test_rules_support import ZZ

import pipelines.cli as pipelines_cli
from pipelines import rules
from pipelines.config import Profile
from pipelines.db import connect
from pipelines.rules import engine, state
from sample_generator import generate

AS_OF = "2026-11-20 23:59:59"  # the generator's evaluation time
EARLIER = "2026-10-15 12:00:00"
VERBS = [
    ["strikes", "--year", "2026", "--as-of", AS_OF],
    ["penalties", "--year", "2026", "--as-of", AS_OF],
    ["violations", "--as-of", AS_OF],
    ["fees", "--month", "2026-03"],
    ["archive", "--month", "2026-03"],
    ["at-risk", "--as-of", "2026-11-20 23:59:59"],
]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Generated files (1,500 cases), ingested and the marts refreshed as of AS_OF."""
    d = tmp_path_factory.mktemp("fresh")
    expected = generate(cases=1500, seed=31, out=d / "in")
    assert expected["as_of"] == AS_OF
    status = pipelines_cli.main(
        ["ingest", "--db", str(d / "w.duckdb"), "--as-of", AS_OF, str(d / "in")]
    )
    assert status == 0
    return d


@pytest.fixture
def db(data: Path, tmp_path: Path) -> Path:
    """A copy of the warehouse with fresh marts."""
    return Path(shutil.copyfile(data / "w.duckdb", tmp_path / "w.duckdb"))


@pytest.fixture
def used(monkeypatch) -> list[set[str]]:
    """What `fresh_marts` answered on each rule call."""
    answers: list[set[str]] = []
    original = engine.usable_marts

    def spy(*args, **kwargs):
        fresh, reusable = original(*args, **kwargs)
        answers.append(fresh)
        return fresh, reusable

    monkeypatch.setattr(engine, "usable_marts", spy)
    return answers


def test_a_rule_call_looks_at_the_data_state_once(db, monkeypatch):
    """mart_meta and the staging tables' state (`mart_state`) are read once per rule call,
    for the fresh marts and the reusable ones together."""
    calls = []
    original = state.mart_state
    monkeypatch.setattr(state, "mart_state", lambda *a: calls.append(1) or original(*a))
    with connect(db) as con:
        rules.strikes(con, dt.datetime(2026, 10, 15, 12), ZZ, year=2026)
    assert len(calls) == 1


def outputs(db: Path, tmp: Path, verbs=VERBS, profile: str = "zhengzhou") -> dict[str, bytes]:
    """Each verb's CSV file, through `python -m pipelines`."""
    out: dict[str, bytes] = {}
    for argv in verbs:
        f = tmp / f"{argv[0]}.csv"
        f.unlink(missing_ok=True)
        args = [*argv, "--db", str(db), "--profile", profile, "--out", str(f)]
        assert pipelines_cli.main(args) == 0, argv
        out[" ".join(argv)] = f.read_bytes()
    return out


def from_scratch(db: Path, tmp: Path, monkeypatch, **kwargs) -> dict[str, bytes]:
    """The same files with the marts ignored: every answer computed from the staging tables."""
    with monkeypatch.context() as m:
        m.setattr(engine, "fresh_marts", lambda *_a, **_k: set())
        return outputs(db, tmp, **kwargs)


def change_tasks(src: Path, dst: Path) -> Path:
    """A tasks file re-sending 30 tasks of 2026 as accepted 9 hours after the push (late)."""
    dst.mkdir(parents=True, exist_ok=True)
    with (src / "tasks.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    accepted = [
        r for r in rows if r["response"] == "受理" and "2026-01" <= r["pushed_at"] < "2026-10"
    ]
    changed = accepted[::40][:30]
    for r in changed:
        pushed = dt.datetime.fromisoformat(r["pushed_at"])
        r["responded_at"] = f"{pushed + dt.timedelta(hours=9):%Y-%m-%d %H:%M:%S}"
        if r["completed_at"] and r["completed_at"] < r["responded_at"]:
            r["completed_at"] = f"{pushed + dt.timedelta(hours=10):%Y-%m-%d %H:%M:%S}"
    with (dst / "tasks.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(changed)
    return dst


def test_fresh_marts_are_read_and_answer_as_a_computation_from_scratch(
    db, tmp_path, used, monkeypatch
):
    got = outputs(db, tmp_path)
    assert all(used) and len(used) == len(VERBS)
    assert got == from_scratch(db, tmp_path, monkeypatch)
    assert got["strikes --year 2026 --as-of " + AS_OF].count(b"\n") > 1
    assert got["violations --as-of " + AS_OF].count(b"\n") > 10


def test_after_a_new_load_the_verbs_compute_again(data, db, tmp_path, used, monkeypatch):
    before = outputs(db, tmp_path)
    used.clear()
    new = change_tasks(data / "in", tmp_path / "late")
    assert pipelines_cli.main(["ingest", "--no-refresh", "--db", str(db), str(new)]) == 0
    after = outputs(db, tmp_path)
    assert not any(used)  # the marts are from before the load
    assert after == from_scratch(db, tmp_path, monkeypatch)
    for verb in ("strikes", "violations"):  # the stale marts would have been wrong
        key = next(k for k in after if k.startswith(verb))
        assert after[key] != before[key], verb
    # refreshed again, they are read again and still agree
    con = connect(db)
    rules.refresh_marts(con, dt.datetime.fromisoformat(AS_OF), ZZ)
    con.close()
    used.clear()
    assert outputs(db, tmp_path) == after
    assert all(used)


def test_another_evaluation_time_or_profile_computes_from_the_data(db, tmp_path, used, monkeypatch):
    earlier = [[a.replace(AS_OF, EARLIER) for a in argv] for argv in VERBS if AS_OF in argv]
    got = outputs(db, tmp_path, verbs=earlier)
    assert not any(used)
    assert got == from_scratch(db, tmp_path, monkeypatch, verbs=earlier)
    used.clear()
    got = outputs(db, tmp_path, profile="taiyuan")
    assert not any(used)
    assert got == from_scratch(db, tmp_path, monkeypatch, profile="taiyuan")


def _agree(con, as_of: dt.datetime, profile=ZZ) -> None:
    """Strikes and violations as the functions give them equal a computation from scratch."""
    assert rules.strikes(con, as_of, profile).equals(
        engine.run_from_scratch(con, "fct_strikes", profile, as_of)
    )
    assert rules.violations(con, as_of, profile).equals(
        engine.run_from_scratch(con, "mart_violations", profile, as_of)
    )


def test_rows_written_outside_the_ingest_make_the_marts_stale(db):
    as_of = dt.datetime.fromisoformat(AS_OF)
    con = connect(db)
    assert "fct_strikes" in engine.fresh_marts(con, ZZ, as_of)
    con.execute(
        "insert into stg_tasks (task_id, case_id, expert_id, pushed_at) "
        "select 'X-1', case_id, expert_id, timestamp '2026-06-01 09:00:00' from stg_tasks limit 1"
    )
    assert engine.fresh_marts(con, ZZ, as_of) == set()
    _agree(con, as_of)
    rules.refresh_marts(con, as_of, ZZ)
    assert "fct_strikes" in engine.fresh_marts(con, ZZ, as_of)
    con.execute(
        "update stg_experts set title = '主治医师' where expert_id = (select min(expert_id) from stg_experts)"
    )
    assert engine.fresh_marts(con, ZZ, as_of) == set()
    _agree(con, as_of)
    rules.refresh_marts(con, as_of, ZZ)
    con.execute("delete from stg_cases where case_id = (select max(case_id) from stg_cases)")
    assert engine.fresh_marts(con, ZZ, as_of) == set()
    _agree(con, as_of)
    con.close()


def test_changed_rule_settings_or_calendar_make_the_marts_stale(db, tmp_path, monkeypatch):
    as_of = dt.datetime.fromisoformat(AS_OF)
    con = connect(db)
    assert "fct_strikes" in engine.fresh_marts(con, ZZ, as_of)
    # same profile name, another setting
    stricter = Profile(ZZ.name, copy.deepcopy(ZZ.data))
    stricter.data["deadlines"]["accept_hours"] = 4
    assert stricter.name == ZZ.name
    assert engine.fresh_marts(con, stricter, as_of) == set()
    _agree(con, as_of, stricter)
    assert rules.strikes(con, as_of, stricter).num_rows > rules.strikes(con, as_of, ZZ).num_rows
    # a supervisor declares 2026-03-03 (a Tuesday) a holiday: completion deadlines move
    from pipelines import workcal

    overrides = tmp_path / "calendar_overrides.csv"
    text = workcal.OVERRIDES.read_text(encoding="utf-8") if workcal.OVERRIDES.exists() else ""
    lines = text.splitlines() or ["day,is_workday"]
    overrides.write_text("\n".join([*lines, "2026-03-03,false"]) + "\n", encoding="utf-8")
    monkeypatch.setattr(workcal, "OVERRIDES", overrides)
    assert engine.fresh_marts(con, ZZ, as_of) == set()
    _agree(con, as_of)
    con.close()


def test_fees_and_archive_without_an_evaluation_time_read_marts_only_when_nothing_is_later(db):
    as_of = dt.datetime.fromisoformat(AS_OF)
    con = connect(db)
    latest = con.execute(
        "select (select max(completed_at) from stg_tasks), (select max(decided_at) from stg_cases)"
    ).fetchone()
    assert max(latest) <= as_of
    assert {"mart_fees", "mart_archive", "mart_archive_by_hospital"} <= engine.fresh_marts(
        con, ZZ, None
    )
    # marts refreshed as of an earlier time count fewer reviews than "every completed review"
    rules.refresh_marts(con, dt.datetime.fromisoformat(EARLIER), ZZ)
    assert engine.fresh_marts(con, ZZ, None) == set()
    assert rules.expert_fees(con, ZZ).equals(engine.run_from_scratch(con, "mart_fees", ZZ, None))
    assert rules.monthly_archive(con, ZZ).equals(
        engine.run_from_scratch(con, "mart_archive", ZZ, None)
    )
    con.close()


def test_the_archive_mart_by_hospital_counts_what_mart_archive_sums(db):
    con = connect(db)
    by_hospital = con.execute(
        "select month, hospital_id, disease_name, outcome, cases from mart_archive_by_hospital "
        "order by all"
    ).fetchall()
    counted = con.execute(
        """
        select strftime(decided_at, '%Y-%m'), hospital_id, disease_name, outcome, count(*)
        from fct_cases where outcome is not null and decided_at is not null
        group by all order by all
        """
    ).fetchall()
    assert by_hospital == counted and len({r[1] for r in by_hospital}) > 1
    summed = con.execute(
        """
        select month, disease_name, specialty, settlement, outcome, sum(cases)
        from mart_archive_by_hospital group by all order by all
        """
    ).fetchall()
    assert summed == con.execute("select * from mart_archive order by all").fetchall()
    con.close()
