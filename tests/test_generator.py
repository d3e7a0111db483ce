"""The sample generator: determinism, contract columns, integrity, and exact expected breaches.

The expected counts in expected_breaches.json are checked against an independent SQL reading of
shared/RULES.md (ZZ-ACCEPT, ZZ-COMPLETE, ZZ-STRIKE, ZZ-STRIKE-AFTER, ZZ-ASSIGN, ZZ-VERDICT,
ZZ-REAPPLY, ZZ-UPLOAD, ZZ-BENEFIT, ZZ-EXPERT-QUAL) run in DuckDB over the written files.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.catalogue import read_catalogue
from pipelines.config import load_profile
from pipelines.workcal import ensure_calendar
from sample_generator import generate
from sample_generator.__main__ import main
from sample_generator.ids import resident_id_valid

CONTRACT_COLUMNS = {
    "hospitals": [
        "hospital_id",
        "hospital_name",
        "hospital_class",
        "ownership",
        "district",
        "group_id",
    ],
    "experts": [
        "expert_id",
        "expert_name",
        "hospital_id",
        "specialty",
        "title",
        "registered_on",
        "disqualified_on",
        "phone",
    ],
    "cases": [
        "case_id",
        "person_id",
        "person_name",
        "insurance_type",
        "disease_name",
        "hospital_id",
        "submitted_at",
        "record_id",
        "record_format",
        "record_size_mb",
        "discharge_date",
        "outcome",
        "decided_at",
        "benefit_start",
    ],
    "tasks": [
        "task_id",
        "case_id",
        "expert_id",
        "pushed_at",
        "responded_at",
        "response",
        "completed_at",
        "verdict",
    ],
}
FILES = list(CONTRACT_COLUMNS)
RULES = [
    "ZZ-ACCEPT",
    "ZZ-COMPLETE",
    "ZZ-ASSIGN",
    "ZZ-VERDICT",
    "ZZ-REAPPLY",
    "ZZ-UPLOAD",
    "ZZ-BENEFIT",
    "ZZ-EXPERT-QUAL",
    "ZZ-STRIKE-AFTER",
]


@pytest.fixture(scope="module")
def breach_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("breaches")
    generate(20_000, seed=11, out=out)
    return out


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(20_000, seed=12, out=out, breaches=False)
    return out


def _report(folder: Path) -> dict:
    return json.loads((folder / "expected_breaches.json").read_text(encoding="utf-8"))


def _load(folder: Path, fmt: str = "csv") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_calendar(con)
    for name in FILES:
        reader = "read_parquet" if fmt == "parquet" else "read_csv"
        con.execute(f"create table {name} as select * from {reader}('{folder / f'{name}.{fmt}'}')")
    cat = read_catalogue()
    con.execute(
        "create table diseases (disease_name varchar, specialty varchar, settlement varchar)"
    )
    con.executemany(
        "insert into diseases values (?, ?, ?)",
        [(r["disease_name"], r["specialty"], r["settlement"]) for r in cat],
    )
    return con


def _ids(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> list[str]:
    return sorted(r[0] for r in con.execute(query, params or []).fetchall())


STRIKES_SQL = """
with acc as (
    select task_id, expert_id, pushed_at + to_hours($accept_h) as deadline, 'accept_timeout' as kind
    from tasks
    where (responded_at is not null and responded_at > pushed_at + to_hours($accept_h))
       or (responded_at is null and pushed_at + to_hours($accept_h) < $as_of)
),
ok as (
    select t.*, cast(c2.day + 1 as timestamp) as cdl
    from tasks t
    join calendar c1 on c1.day = cast(t.responded_at as date)
    join calendar c2 on c2.workday_no = c1.workday_no + $complete_d and c2.is_workday
    where t.response = '受理' and t.responded_at <= t.pushed_at + to_hours($accept_h)
),
comp as (
    select task_id, expert_id, cdl as deadline, 'complete_timeout' as kind
    from ok
    where (completed_at is not null and completed_at > cdl) or (completed_at is null and cdl < $as_of)
),
s as (select * from acc union all select * from comp)
select *, row_number() over (partition by expert_id, year(deadline) order by deadline, task_id) as no
from s
"""


def _sql_findings(con: duckdb.DuckDBPyConnection, as_of: str) -> dict:
    """An independent SQL reading of the rules over the loaded files."""
    p = load_profile("zhengzhou")
    params = {
        "accept_h": p["deadlines"]["accept_hours"],
        "as_of": dt.datetime.fromisoformat(as_of),
        "complete_d": p["deadlines"]["complete_workdays"],
    }
    con.execute(f"create or replace table strikes as {STRIKES_SQL}", params)
    con.execute("""create or replace table disq as
                   select expert_id, min(deadline) as at from strikes where no = 3 group by 1""")
    found = {
        "ZZ-ACCEPT": _ids(con, "select task_id from strikes where kind = 'accept_timeout'"),
        "ZZ-COMPLETE": _ids(con, "select task_id from strikes where kind = 'complete_timeout'"),
        "ZZ-STRIKE-AFTER": _ids(
            con,
            """select t.task_id from tasks t join disq d using (expert_id)
                                        where t.pushed_at > d.at""",
        ),
        "disqualified_experts": _ids(con, "select expert_id from disq"),
    }
    found["ZZ-ASSIGN"] = _ids(
        con,
        """
        with per as (
            select case_id, count(verdict) as n_v,
                   count(distinct case when verdict is not null then expert_id end) as n_e,
                   count(*) - count(distinct expert_id) as dup
            from tasks group by 1
        ),
        wrong as (
            select distinct t.case_id from tasks t join cases c using (case_id)
            join diseases d using (disease_name) join experts e using (expert_id)
            where e.specialty <> d.specialty
        )
        select c.case_id from cases c join per using (case_id)
        where (c.outcome is not null and (n_v <> 2 or n_e <> 2)) or dup > 0
        union select case_id from wrong""",
    )
    found["ZZ-VERDICT"] = _ids(
        con,
        """
        select c.case_id from cases c join (
            select case_id, count(verdict) as n_v, count(*) filter (where verdict = '符合') as n_p
            from tasks group by 1) v using (case_id)
        where c.outcome is not null and n_v >= 1
          and c.outcome <> case when n_p = n_v and n_v >= 2 then '符合' else '不符合' end""",
    )
    found["ZZ-REAPPLY"] = _ids(
        con,
        """
        with v as (
            select c.case_id, c.record_id, c.disease_name, c.submitted_at,
                   count(*) filter (where t.verdict = '不符合') as n_f,
                   count(*) filter (where t.verdict = '符合') as n_p
            from cases c left join tasks t using (case_id) group by all
        ),
        w as (
            select *,
                   coalesce(sum(case when n_f >= 2 and n_p = 0 then 1 else 0 end) over g, 0) as dbl,
                   coalesce(sum(case when n_f >= 1 then 1 else 0 end) over g, 0) as fails
            from v
            window g as (partition by record_id, disease_name order by submitted_at, case_id
                         rows between unbounded preceding and 1 preceding)
        )
        select case_id from w where dbl > 0 or fails >= 2""",
    )
    found["ZZ-UPLOAD"] = _ids(
        con,
        """
        select case_id from cases where record_size_mb > 10
           or (discharge_date >= date '2022-01-01' and record_format <> 'HIS导出PDF')""",
    )
    found["ZZ-BENEFIT"] = _ids(
        con,
        """
        select c.case_id from cases c join diseases d using (disease_name)
        join calendar c1 on c1.day = cast(c.submitted_at as date)
        join calendar c6 on c6.workday_no = c1.workday_no + 6 and c6.is_workday
        where (c.outcome = '符合' and (c.benefit_start is null or case when d.settlement = '即时办结'
                   then c.benefit_start < c1.day or c.benefit_start > c6.day
                   else c.benefit_start <> cast(date_trunc('month', c.decided_at)
                                                + interval 1 month as date) end))
           or (c.outcome is distinct from '符合' and c.benefit_start is not null)""",
    )
    found["ZZ-EXPERT-QUAL"] = _ids(
        con,
        """
        select e.expert_id from experts e join hospitals h using (hospital_id)
        where e.title not in ('副主任医师', '主任医师') or h.ownership <> '公立'
           or h.hospital_class not in ('二类', '三类')""",
    )
    return found


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(2_000, seed=seed, out=tmp_path / name, bad_rows=5)
    for f in [*(f"{n}.csv" for n in FILES), "expected_breaches.json"]:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a" / "cases.csv").read_bytes() != (
        tmp_path / "c" / "cases.csv"
    ).read_bytes()
    assert (tmp_path / "a" / "tasks.csv").read_bytes() != (
        tmp_path / "c" / "tasks.csv"
    ).read_bytes()


def test_files_have_exactly_the_contract_columns(breach_dir: Path) -> None:
    for name, columns in CONTRACT_COLUMNS.items():
        with (breach_dir / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
            assert next(csv.reader(fh)) == columns, name


def test_referential_integrity_and_two_distinct_experts(breach_dir: Path) -> None:
    con = _load(breach_dir)
    report = _report(breach_dir)
    assert (
        con.sql(
            "select count(*) from tasks where case_id not in (select case_id from cases)"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.sql(
            "select count(*) from tasks where expert_id not in (select expert_id from experts)"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.sql(
            "select count(*) from cases where hospital_id not in (select hospital_id from hospitals)"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.sql(
            "select count(*) from experts where hospital_id not in (select hospital_id from hospitals)"
        ).fetchone()[0]
        == 0
    )
    for name in FILES:
        key = CONTRACT_COLUMNS[name][0]
        total, distinct = con.sql(f"select count(*), count(distinct {key}) from {name}").fetchone()
        assert total == distinct == report["rows"][name]
    odd = _ids(
        con,
        """
        select case_id from cases c join tasks t using (case_id) where c.outcome is not null
        group by case_id having count(t.verdict) <> 2
            or count(distinct case when t.verdict is not null then t.expert_id end) <> 2
            or count(*) <> count(distinct t.expert_id)""",
    )
    assert odd and set(odd) <= set(report["planted"]["ZZ-ASSIGN"])


def test_experts_match_the_disease_specialty(breach_dir: Path) -> None:
    con = _load(breach_dir)
    wrong = con.sql("""
        select count(*) from tasks t join cases c using (case_id)
        join diseases d using (disease_name) join experts e using (expert_id)
        where e.specialty <> d.specialty""").fetchone()[0]
    assert wrong == 0
    specialties = {r["specialty"] for r in read_catalogue()}
    assert {
        r[0] for r in con.sql("select distinct specialty from experts").fetchall()
    } <= specialties


def test_resident_ids_are_valid(breach_dir: Path) -> None:
    con = _load(breach_dir)
    ids = [r[0] for r in con.sql("select distinct person_id from cases").fetchall()]
    assert ids and all(resident_id_valid(str(i)) for i in ids)


def test_times_on_working_days_and_in_order(breach_dir: Path) -> None:
    con = _load(breach_dir)
    off = con.sql("""
        select count(*) from cases c join calendar k on k.day = cast(c.submitted_at as date)
        where not k.is_workday or hour(c.submitted_at) < 8 or hour(c.submitted_at) >= 18""").fetchone()[
        0
    ]
    assert off == 0
    backwards = con.sql("""
        select count(*) from tasks t join cases c using (case_id)
        where t.pushed_at < c.submitted_at or t.responded_at < t.pushed_at
           or t.completed_at < t.responded_at or c.decided_at < t.completed_at""").fetchone()[0]
    assert backwards == 0
    share = con.sql(
        "select avg(case when outcome = '符合' then 1 else 0 end) from cases "
        "where outcome is not null"
    ).fetchone()[0]
    assert 0.74 < share < 0.86


def test_expected_breaches_match_an_independent_sql_reading(breach_dir: Path) -> None:
    report = _report(breach_dir)
    found = _sql_findings(_load(breach_dir), report["as_of"])
    for rule in RULES:
        assert found[rule] == report["planted"][rule], rule
        assert report["violations"][rule] == len(found[rule]) > 0, rule
    assert found["disqualified_experts"] == report["planted"]["disqualified_experts"]
    assert report["disqualified_experts"] == len(found["disqualified_experts"]) > 0
    assert report["strikes"] == {
        "accept_timeout": len(found["ZZ-ACCEPT"]),
        "complete_timeout": len(found["ZZ-COMPLETE"]),
    }


def test_strike_actions_follow_the_numbering(breach_dir: Path) -> None:
    report = _report(breach_dir)
    con = _load(breach_dir)
    _sql_findings(con, report["as_of"])
    by_no = dict(con.sql("select least(no, 4), count(*) from strikes group by 1").fetchall())
    actions = report["strike_actions"]
    assert [
        actions["sms"],
        actions["notify_hospital"],
        actions["disqualify"],
        actions["after_disqualified"],
    ] == [by_no.get(i, 0) for i in (1, 2, 3, 4)]
    assert actions["disqualify"] == report["disqualified_experts"] > 0
    assert actions["after_disqualified"] > 0
    assert sum(report["strikes_by_year"]["2026"].values()) + sum(
        report["strikes_by_year"].get("2025", {}).values()
    ) == sum(report["strikes"].values())


def test_no_breaches_gives_zero_counts_and_open_tasks_not_late(clean_dir: Path) -> None:
    report = _report(clean_dir)
    assert all(v == 0 for v in report["violations"].values())
    assert report["strikes"] == {"accept_timeout": 0, "complete_timeout": 0}
    assert report["disqualified_experts"] == 0
    assert all(not v for v in report["planted"].values())
    con = _load(clean_dir)
    found = _sql_findings(con, report["as_of"])
    assert all(not found[rule] for rule in RULES)
    open_tasks = con.sql("""select count(*) from tasks
                            where responded_at is null or (response = '受理' and completed_at is null)""")
    assert open_tasks.fetchone()[0] > 0
    assert (
        con.sql("select count(*) from experts where disqualified_on is not null").fetchone()[0] == 0
    )


def test_parquet_is_readable_by_duckdb_with_types(tmp_path: Path) -> None:
    report = generate(3_000, seed=5, out=tmp_path, fmt="parquet")
    con = _load(tmp_path, "parquet")
    types = dict(
        con.sql(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'cases'"
        ).fetchall()
    )
    assert types["submitted_at"].startswith("TIMESTAMP") and types["benefit_start"] == "DATE"
    assert con.sql("select count(*) from tasks").fetchone()[0] == report["rows"]["tasks"]
    found = _sql_findings(con, report["as_of"])
    assert all(found[rule] == report["planted"][rule] for rule in RULES)


def test_bad_rows_are_spread_and_counted(tmp_path: Path) -> None:
    report = generate(2_000, seed=6, out=tmp_path, bad_rows=14)
    assert sum(report["quarantine"].values()) == 14
    assert all(report["quarantine"][f] >= 3 for f in FILES)
    for name in FILES:
        lines = (tmp_path / f"{name}.csv").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 1 + report["rows"][name] + report["quarantine"][name]
        assert [r["line"] for r in report["quarantine_rows"][name]] == list(
            range(report["rows"][name] + 2, len(lines) + 1)
        )


def test_small_run_is_fast(tmp_path: Path) -> None:
    began = time.perf_counter()
    generate(2_000, seed=8, out=tmp_path)
    assert time.perf_counter() - began < 10


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--cases", "500", "--seed", "1", "--out", str(tmp_path / "ok"), "--quiet"]) == 0
    assert (tmp_path / "ok" / "tasks.csv").exists()
    assert (
        main(
            [
                "--cases",
                "500",
                "--seed",
                "1",
                "--out",
                str(tmp_path / "x"),
                "--quiet",
                "--start",
                "2026-05-01",
                "--end",
                "2026-01-01",
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "--cases",
                "500",
                "--seed",
                "1",
                "--out",
                str(tmp_path / "y"),
                "--quiet",
                "--start",
                "2026-06-01",
                "--end",
                "2026-12-30",
            ]
        )
        == 1
    )
    assert "2027" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["--cases", "500", "--seed", "1", "--out", str(tmp_path / "z"), "--format", "xlsx"])
    assert exc.value.code == 2


@pytest.mark.parametrize("seed", [20261123, 1, 7, 99])
def test_tiny_runs_work_whatever_the_seed(tmp_path: Path, seed: int) -> None:
    """100 cases: some batches are empty (e.g. no resubmission pushed by as_of) — still fine."""
    out = tmp_path / "tiny"
    generate(100, seed=seed, out=out)
    with (out / "cases.csv").open(encoding="utf-8") as fh:
        assert sum(1 for _ in fh) - 1 == 100
