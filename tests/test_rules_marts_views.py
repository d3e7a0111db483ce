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
