"""The breaches are computed once per refresh: mart_violation_events holds them with their
instants, district and specialty, and mart_violations is a view of its contract columns
(pipelines.rules.marts.VIEWS) — the same rows the `violations` command computes from scratch."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from test_rules_properties import START, load_log
from test_rules_support import ZZ

from pipelines import rules
from pipelines.rules import engine, refresh_marts

# E1 never answers T000 (ZZ-ACCEPT), and gets the case twice (ZZ-ASSIGN)
LOG = [("E1", 0, None, 0, None), ("E1", 30, "受理", 60, None), ("E2", 40, "受理", 60, 3600)]
LATER = START + dt.timedelta(days=20)


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([(c, "ascending") for c in table.column_names])


def _kind(con, name: str) -> str:
    return con.execute(
        "select table_type from information_schema.tables where table_name = ?", [name]
    ).fetchone()[0]


def test_mart_violations_is_a_view_of_the_events_contract_columns(con):
    load_log(con, LOG)
    con.execute("create table mart_violations as select 1 as x")  # as an earlier version left it
    refresh_marts(con, LATER, ZZ)
    assert _kind(con, "mart_violations") == "VIEW"
    assert _kind(con, "mart_violation_events") == "BASE TABLE"
    stored = con.execute("select * from mart_violations").to_arrow_table()
    want = engine.run_from_scratch(con, "mart_violations", ZZ, LATER)
    assert {"ZZ-ACCEPT", "ZZ-ASSIGN"} <= set(want["rule_id"].to_pylist())
    assert _sorted(stored).equals(_sorted(want))
    assert "mart_violations" in engine.fresh_marts(con, ZZ, LATER)
    assert rules.violations(con, LATER, ZZ).equals(want)  # read from the view, in its order
    refresh_marts(con, LATER, ZZ)  # a view replaces the view
    assert _kind(con, "mart_violations") == "VIEW"


def _timeline(con) -> pa.Table:
    return con.execute("select * from mart_task_timeline").to_arrow_table()


def test_mart_task_timeline_is_a_view_of_its_query_over_the_stored_tasks(con):
    load_log(con, LOG)
    con.execute("create table mart_task_timeline as select 1 as x")  # as an earlier version left it
    refresh_marts(con, LATER, ZZ)
    assert _kind(con, "mart_task_timeline") == "VIEW"
    want = engine.run_from_scratch(con, "mart_task_timeline", ZZ, LATER)
    assert want.num_rows == 3  # T000, T001, T002
    assert _sorted(_timeline(con)).equals(_sorted(want))
    # its evaluation time is written in: T000 never answered, 20 days less 8 hours late at LATER
    margin = con.execute(
        "select accept_margin_hours from mart_task_timeline where response is null"
    ).fetchall()
    assert margin == [(-(20 * 24 - 8.0),)]
    assert "mart_task_timeline" in engine.fresh_marts(con, ZZ, LATER)


def test_a_gap_in_the_tasks_drops_the_timeline_view(con):
    load_log(con, LOG)
    refresh_marts(con, LATER, ZZ)
    con.execute(
        "insert into stg_tasks (task_id, case_id, expert_id, pushed_at, responded_at, response) "
        "values ('T9', 'C1', 'E1', timestamp '2027-01-04 09:00:00', "
        "timestamp '2027-01-04 10:00:00', '受理')"
    )
    refresh_marts(con, dt.datetime(2027, 2, 1), ZZ)
    gaps = dict(con.execute("select mart, year from mart_gaps").fetchall())
    assert gaps["fct_tasks"] == gaps["mart_task_timeline"] == 2027
    views = con.execute("select view_name from duckdb_views() where not internal").fetchall()
    assert ("mart_task_timeline",) not in views
