"""refresh_marts: the tables the dashboard reads hold what the rule functions return, or nothing new."""

from __future__ import annotations

import pytest
from test_rules_support import ZZ, case, expert, load, task, ts

from pipelines import rules
from pipelines.errors import CalendarGapError
from pipelines.rules import engine
from pipelines.rules.marts import MARTS

AS_OF = ts("2026-12-01 00:00:00")


def test_marts_hold_the_same_rows_as_the_functions(con):
    load(
        con,
        experts=[expert("E1"), expert("E2", title="主治医师")],
        cases=[case("C1", outcome="符合", decided_at="2026-03-10 10:00:00")],
        tasks=[
            task(
                "T1",
                responded_at="2026-03-02 10:00:00",
                response="受理",
                completed_at="2026-03-03 10:00:00",
                verdict="符合",
            ),
            task("T2", expert_id="E2"),
        ],
    )
    counts = rules.refresh_marts(con, AS_OF, ZZ)
    assert set(counts) == set(MARTS)
    functions = {
        "fct_strikes": rules.strikes(con, AS_OF, ZZ),
        "mart_violations": rules.violations(con, AS_OF, ZZ),
        "mart_hospital_penalty": rules.hospital_penalties(con, AS_OF, ZZ),
        "mart_fees": rules.expert_fees(con, ZZ, as_of=AS_OF),
        "mart_archive": rules.monthly_archive(con, ZZ, as_of=AS_OF),
        "fct_tasks": rules.task_deadlines(con, AS_OF, ZZ),
    }
    for name, table in functions.items():
        assert table.equals(engine.run_from_scratch(con, name, ZZ, AS_OF)), name
    # the tables themselves are unsorted (R4): sorted as their model sorts, they are its rows
    for name in MARTS[:-1]:
        stored = con.execute(f"select * from {name} {engine.order_by(name)}").to_arrow_table()
        assert stored.equals(engine.run_from_scratch(con, name, ZZ, AS_OF)), name
    # T2 late, E2's title, C1 decided on one verdict (ZZ-ASSIGN) and approved on it (ZZ-VERDICT)
    assert counts["mart_violations"] == 4
    assert con.execute("select as_of, profile from mart_meta").fetchall() == [(AS_OF, "zhengzhou")]


def test_a_calendar_gap_drops_only_the_marts_that_need_the_year(con):
    load(con, tasks=[task("T1")])
    rules.refresh_marts(con, AS_OF, ZZ)
    con.execute(
        "insert into stg_tasks (task_id, case_id, expert_id, pushed_at, responded_at, response) "
        "values ('T2', 'C1', 'E1', timestamp '2027-01-04 09:00:00', "
        "timestamp '2027-01-04 10:00:00', '受理')"
    )
    later = ts("2027-02-01 00:00:00")
    counts = rules.refresh_marts(con, later, ZZ)
    gaps = dict(con.execute("select mart, year from mart_gaps").fetchall())
    assert gaps["fct_tasks"] == 2027 and gaps["fct_strikes"] == 2027
    assert set(gaps) | set(counts) == set(MARTS)
    tables = {
        r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
    }
    assert "fct_strikes" not in tables  # never left stale beside fresh tables
    assert {"mart_fees", "mart_archive"} <= set(counts)  # they need no 2027 working day
    assert con.execute("select as_of from mart_meta").fetchall() == [(later,)]
    with pytest.raises(CalendarGapError) as exc:
        rules.strikes(con, later, ZZ)
    assert exc.value.year == 2027
