"""mart_violation_events brought forward audit by audit after a load (`-- by rule:`,
pipelines.rules.incremental.refresh_by_rule): each audit's rows are deleted and computed again
into one temp table, and the model's join to the tasks, cases, experts and hospitals runs once
for all of them, over the tasks and cases of those rows — not once per audit (16 scans of the
5.2 M tasks in a daily delta)."""

from __future__ import annotations

import datetime as dt

from test_rules_properties import START, load_log
from test_rules_support import ZZ

from pipelines.rules import refresh_marts
from pipelines.rules.engine import REFRESH_EXTRA, parameters
from pipelines.rules.incremental import NEW, _by_rule_sql, redone_table, refresh_by_rule
from pipelines.rules.marts import MARTS

# E1 never answers T000 (ZZ-ACCEPT), accepts T001 but never completes it (ZZ-COMPLETE), and
# gets the case twice (ZZ-ASSIGN)
LOG = [("E1", 0, None, 0, None), ("E1", 30, "受理", 60, None), ("E2", 40, "受理", 60, 3600)]
LATER = START + dt.timedelta(days=20)
EVENTS = "mart_violation_events"


def _done() -> list[str]:
    return MARTS[: MARTS.index(EVENTS)]


def test_the_events_join_runs_once_after_every_audit_is_redone(con):
    load_log(con, LOG)
    refresh_marts(con, LATER, ZZ)
    statements = _by_rule_sql(con, EVENTS, redone=[], done=_done())
    inserts = [s for s in statements if s.startswith(f"insert into main.{EVENTS}")]
    deletes = [s for s in statements if s.startswith(f"delete from main.{EVENTS}")]
    assert len(inserts) == 1 and statements[-1] == inserts[0]
    assert len(deletes) == 16  # one per audit of mart_violations
    assert "left join fct_tasks as t" in inserts[0]
    # the tasks and cases it joins: only those of the redone rows, only the columns its
    # `-- reads:` line lists
    joined = (
        ("fct_tasks", "task_id, pushed_at"),
        ("fct_cases", "case_id, submitted_at, specialty"),
    )
    for model, columns in joined:
        key = columns.split(",")[0]
        assert f"{model} as (select {columns} from main.{model}\n    where {key} in (" in inserts[0]


def test_a_refresh_by_rule_of_every_audit_gives_the_stored_rows_again(con):
    load_log(con, LOG)
    refresh_marts(con, LATER, ZZ)
    before = con.execute(f"select * from {EVENTS} order by all").fetchall()
    assert {r[0] for r in before} == {"ZZ-ACCEPT", "ZZ-COMPLETE", "ZZ-ASSIGN"}
    assert con.execute("select as_of from mart_meta").fetchone() == (LATER,)
    params = parameters(ZZ, LATER, dict(REFRESH_EXTRA), eval_at=LATER) | {"marts": _done()}
    refresh_by_rule(con, EVENTS, params, redone=[], done=_done())
    assert con.execute(f"select * from {EVENTS} order by all").fetchall() == before
    tables = con.execute("select table_name from duckdb_tables() where temporary").fetchall()
    assert ("_by_rule_rows",) not in tables


def test_a_refresh_by_rule_keeping_columns_keeps_the_rows_it_deleted_and_inserted(con):
    # every audit redone whole (no redone rows of the models): each stored row is deleted and
    # inserted again, and the columns asked for are kept for both (mart_monthly_kpis's months)
    load_log(con, LOG)
    refresh_marts(con, LATER, ZZ)
    keep = ["rule_id", "counted_at"]
    before = con.execute(f"select {', '.join(keep)} from {EVENTS} order by all").fetchall()
    params = parameters(ZZ, LATER, dict(REFRESH_EXTRA), eval_at=LATER) | {"marts": _done()}
    refresh_by_rule(con, EVENTS, params, redone=[], done=_done(), keep=keep)
    kept = con.execute(f"select * from {redone_table(EVENTS)} order by all").fetchall()
    assert kept == sorted([(*r, False) for r in before] + [(*r, True) for r in before])
    assert [d[0] for d in con.execute(f"select * from {redone_table(EVENTS)}").description] == [
        "rule_id",
        "counted_at",
        NEW,
    ]
    assert con.execute(f"select {', '.join(keep)} from {EVENTS} order by all").fetchall() == before
