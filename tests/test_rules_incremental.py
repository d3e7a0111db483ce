"""An earlier evaluation time answered from marts materialised later (pipelines.rules.incremental):
the settled rows are read as stored, the open ones computed again — the same answer as computing
everything from the staging tables."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from test_rules_properties import EXAMPLES, HOURS, START, as_of_hours, load_log, task_logs
from test_rules_support import ZZ

from pipelines.evaltime import facts_at
from pipelines.rules import engine, refresh_marts
from pipelines.rules.incremental import keyed, reuse_body
from pipelines.rules.marts import MARTS

# every mart computed from fct_tasks, as a command would ask for it at another time
READERS = [m for m in MARTS if m != "fct_tasks" and "fct_tasks" in engine.closure(m)]


def _sorted(table: pa.Table) -> pa.Table:
    """Rows in a total order (a mart's `order by` may leave ties in any order)."""
    return table.sort_by([(c, "ascending") for c in table.column_names])


@settings(EXAMPLES, max_examples=15)
@given(log=task_logs, mart_h=as_of_hours, back_h=st.integers(0, HOURS))
def test_an_earlier_time_from_later_marts_equals_a_computation_from_scratch(
    con, log, mart_h, back_h
):
    load_log(con, log)
    later = START + dt.timedelta(hours=mart_h)
    earlier = later - dt.timedelta(hours=back_h)
    refresh_marts(con, later, ZZ)
    assert engine.reusable_marts(con, ZZ, facts_at(con, earlier)) == {"fct_tasks"}
    for model in READERS:
        got = engine.run(con, model, ZZ, earlier, **engine.REFRESH_EXTRA)
        want = engine.run_from_scratch(con, model, ZZ, earlier)
        assert _sorted(got).equals(_sorted(want)), model


def test_a_later_time_than_the_marts_is_not_answered_from_them(con):
    load_log(con, [("E1", 10, "受理", 60, None)])
    refresh_marts(con, START + dt.timedelta(hours=20), ZZ)
    assert engine.reusable_marts(con, ZZ, START + dt.timedelta(hours=21)) == set()
    assert engine.reusable_marts(con, ZZ, START + dt.timedelta(hours=19)) == {"fct_tasks"}


def test_the_reuse_reads_settled_rows_and_recomputes_open_ones_from_what_they_carry():
    table, columns, present, settled = keyed("fct_tasks")
    assert (table, columns[0], present) == ("stg_tasks", "task_id", "pushed_at <= $as_of")
    assert settled == (
        "responded_at <= $as_of and (completed_at <= $as_of or completed_at is null"
        " and not is_accepted_on_time)"
    )
    body = reuse_body("fct_tasks")
    assert body.startswith(f"select * from main.fct_tasks where ({present}) and coalesce(")
    assert "with stg_tasks as (\n    select task_id, case_id, expert_id, pushed_at," in body
    assert "from main.stg_tasks" not in body
