"""An earlier evaluation time answered from marts materialised later (pipelines.rules.incremental):
the settled rows are read as stored, the open ones computed again — the same answer as computing
everything from the staging tables."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from conftest import put
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_rules_properties import (
    EXAMPLES,
    HOURS,
    START,
    as_of_hours,
    load_log,
    task_logs,
    task_rows,
)
from test_rules_support import LATE_EXPORT, ZZ, case, record_cutoff

from pipelines.decisions import record_dispute
from pipelines.evaltime import facts_at
from pipelines.rules import engine, incremental, marts, refresh_marts
from pipelines.rules.incremental import delta_values, keyed, reuse_body
from pipelines.rules.marts import MARTS, _previous_meta

# every mart computed from fct_tasks, as a command would ask for it at another time
READERS = [m for m in MARTS if m != "fct_tasks" and "fct_tasks" in engine.closure(m)]


def _sorted(table: pa.Table) -> pa.Table:
    """Rows in a total order (a mart's `order by` may leave ties in any order)."""
    return table.sort_by([(c, "ascending") for c in table.column_names])


@settings(EXAMPLES, max_examples=15)
@given(log=task_logs, mart_h=as_of_hours, back_h=st.integers(0, HOURS))
# asked exactly at a deadline (8 h after the push) that the stored strikes show missed (the
# response came at 9 h): not yet a strike then — fct_strikes_raw's earlier query keeps the
# deadlines before the time asked, not at it
@example(log=[("E1", 0, "受理", 9 * 3600, None)], mart_h=10, back_h=2)
def test_an_earlier_time_from_later_marts_equals_a_computation_from_scratch(
    con, log, mart_h, back_h
):
    load_log(con, log)
    later = START + dt.timedelta(hours=mart_h)
    earlier = later - dt.timedelta(hours=back_h)
    refresh_marts(con, later, ZZ)
    assert engine.reusable_marts(con, ZZ, facts_at(con, earlier)) == {
        "fct_tasks",
        "fct_strikes_raw",
    }
    for model in READERS:
        got = engine.run(con, model, ZZ, earlier, **engine.REFRESH_EXTRA)
        want = engine.run_from_scratch(con, model, ZZ, earlier)
        assert _sorted(got).equals(_sorted(want)), model


def test_a_later_time_than_the_marts_is_not_answered_from_them(con):
    load_log(con, [("E1", 10, "受理", 60, None)])
    refresh_marts(con, START + dt.timedelta(hours=20), ZZ)
    assert engine.reusable_marts(con, ZZ, START + dt.timedelta(hours=21)) == set()
    assert engine.reusable_marts(con, ZZ, START + dt.timedelta(hours=19)) == {
        "fct_tasks",
        "fct_strikes_raw",
    }


def test_the_reuse_reads_settled_rows_and_recomputes_open_ones_from_what_they_carry():
    table, columns, present, settled = keyed("fct_tasks")
    assert (table, columns[0], present) == ("stg_tasks", "task_id", "pushed_at <= $as_of")
    # answered (and completed, or owing no completion) by then, or past a deadline with no
    # answer or no completion: an overdue row holds no lateness, so it stays as it is
    assert settled == (
        "responded_at <= $as_of and (completed_at <= $as_of or completed_at is null"
        " and not is_accepted_on_time)"
        " or responded_at is null and accept_deadline < $as_of"
        " or completed_at is null and is_accepted_on_time and complete_deadline < $as_of"
    )
    body = reuse_body("fct_tasks")
    assert body.startswith(f"select * from main.fct_tasks where ({present}) and coalesce(")
    assert "with stg_tasks as (\n    select task_id, case_id, expert_id, pushed_at," in body
    assert "from main.stg_tasks" not in body


# ---- a refresh after a delta load equals a refresh from scratch --------------------------------


def _stamp(con, table: str, where: str = "true") -> None:
    """Stamp rows with the last load's id, as the ingest does for the rows a load adds or changes."""
    con.execute(f"update {table} set load_id = (select max(load_id) from load_log) where {where}")


def _marts(con) -> dict[str, pa.Table]:
    return {
        m: _sorted(con.execute(f"select * from {m}").to_arrow_table())
        for m in MARTS
        if m != "mart_meta"
    }


def _second_case(con, tasks: set[int]) -> None:
    """Case C2 (hospital H2, submitted in another month) with the stored tasks of these numbers."""
    put(con, "stg_cases", [case("C2", hospital_id="H2", submitted_at="2026-06-01 08:00:00")])
    ids = [f"T{n:03d}" for n in tasks]
    con.execute("update stg_tasks set case_id = 'C2' where task_id in (select unnest(?))", [ids])


# submissions of medical record R1 for one disease (ZZ-REAPPLY, besides C1 and C2, P1's, given
# R1 too): (person, submitted, decided or None — hours after START —, outcome) of C3, C4, …
submissions = st.lists(
    st.tuples(
        st.sampled_from(["P1", "P2"]),
        st.integers(0, 48),
        st.one_of(st.none(), st.integers(0, 96)),
        st.sampled_from(["符合", "不符合"]),
    ),
    max_size=4,
)


def _submissions(con, rows) -> None:
    """Record R1 on every case, and cases C3, C4, … of `rows` (see `submissions`)."""
    con.execute("update stg_cases set record_id = 'R1'")
    for n, (person, submitted_h, decided_h, outcome) in enumerate(rows, start=3):
        submitted = START + dt.timedelta(hours=submitted_h)
        decided = None if decided_h is None else START + dt.timedelta(hours=decided_h)
        decision = {"decided_at": max(decided, submitted), "outcome": outcome} if decided else {}
        fields = {"person_id": person, "submitted_at": submitted, "record_id": "R1"}
        put(con, "stg_cases", [case(f"C{n}", **fields, **decision)])


def _spied(monkeypatch, refresh: str) -> list[str]:
    """The marts `refresh_marts` brings forward by `incremental.<refresh>` (by month, by group)."""
    called: list[str] = []
    original = getattr(incremental, refresh)

    def spy(con, name, values, *keep):
        called.append(name)
        original(con, name, values, *keep)

    monkeypatch.setattr(marts, refresh, spy)
    return called


# the marts of monthly counts, redone after a load by the months whose counts can change
BY_MONTH = [
    "mart_fees",
    "mart_archive_by_hospital",
    "mart_archive",
    "mart_expert_timeliness",
    "mart_monthly_kpis",
]

# a void renumbers a settled task's strike (T001: 2nd, then 1st)
_VOID = {"delta": [], "changed": set(), "case_changed": None, "decided_h": None, "on_c2": set()}
_VOID |= {"outcome": None, "voided": {0}, "gone": set(), "first_h": 100, "later_h": 0}
_VOID |= {"submitted": [], "moved": False, "category": False}
# P1's R1 failed twice (C3, C4) before C5 (ZZ-REAPPLY); C3 found 符合 since: C5, settled and
# not redone itself, no longer breaks the rule — nor, moved to P2, when C4 is
_TWICE = [("P1", 1, 2, "不符合"), ("P1", 3, 4, "不符合"), ("P1", 5, 6, "符合")]
_REAPPLIED = _VOID | {"voided": set(), "first_h": 10, "submitted": _TWICE}


# three late answers disqualify E1 before a settled task (ZZ-STRIKE-AFTER); a void undoes that:
# its row is redone for its expert's disqualification, though its task is not redone
_THIRD = [("E1", h, "不受理", 43200, None) for h in (0, 1, 2)] + [("E1", 200, "受理", 60, 3600)]
_UNDONE = _VOID | {"first_h": 300}
# a task accepted late, completed after the first refresh's time: its stored row (completion
# nulled then) is not settled, though a late acceptance needs no completion
_LATE_DONE = [("E1", 0, None, 0, None), ("E1", 283, "受理", 43200, 295770)]
# three new strikes before everything disqualify E1 earlier: the row of a settled task pushed
# after (ZZ-STRIKE-AFTER) is redone for its expert's disqualification (its detail names it)
_SETTLED_AFTER = [("E1", h, None, 0, None) for h in (46, 100, 336)] + [
    ("E1", 871, "不受理", 158, None)
]
_EARLIER = {k: v for k, v in _VOID.items() if k != "delta"} | {"voided": set(), "first_h": 2133}
# a settled late answer, then a task never answered: the second strike is redone every day (its
# lateness grows) and keeps its number 2, though it is computed again alone
_OVERDUE = [("E1", 0, "不受理", 43200, None), ("E1", 1, None, 0, None)]
# strikes of two years: the new ones of 2025 change that year's numbers, the new one of 2026 is
# the first of its year (a group of its own, numbered though no stored row is in it)
_TWO_YEARS = [("E1", 0, None, 0, None), ("E1", 313, None, 0, None), ("E1", 0, None, 0, None)]
_NEW_YEAR = {"delta": [("E1", 0, None, 0, None)] * 7 + [("E1", 305, None, 0, None)]}
_NEW_YEAR |= {k: v for k, v in _VOID.items() if k != "delta"} | {"voided": set(), "first_h": 322}
_NEW_YEAR |= {"changed": {0, 1}}
# a settled late answer, then a new task's strike with an earlier deadline: the settled strike
# (its task not redone) is numbered again, 1st → 2nd
_SETTLED = [("E1", 10, "不受理", 43200, None)]
_EARLIER_STRIKE = _VOID | {"delta": [("E1", 0, None, 0, None)], "voided": set()}


@settings(EXAMPLES, max_examples=15)
@example(log=[("E1", 0, "不受理", 43200, None), ("E1", 1, "不受理", 43200, None)], **_VOID)
@example(log=_THIRD, **_UNDONE)
@example(log=_LATE_DONE, **_VOID | {"voided": set(), "first_h": 314, "later_h": 2328})
@example(log=_OVERDUE, **_VOID | {"voided": set()})
@example(log=_TWO_YEARS, **_NEW_YEAR)
@example(log=_SETTLED, **_EARLIER_STRIKE)
@example(log=_SETTLED_AFTER, delta=[("E1", 0, None, 0, None)] * 3, **_EARLIER)
@example(log=[], **_REAPPLIED | {"case_changed": "C3", "outcome": "符合"})
@example(log=[], **_REAPPLIED | {"case_changed": "C4", "moved": True})
# C1 decided with no verdict breaks ZZ-ASSIGN, until it turns out a 定额 case (its stg_cases row
# alone changed: fct_cases' columns stay as they were)
@example(log=[], **_VOID | {"decided_h": 0, "case_changed": "C1", "category": True})
@given(
    log=task_logs,
    delta=task_logs,
    changed=st.sets(st.integers(0, 24), max_size=6),
    case_changed=st.sampled_from([None, "C1", "C2", "C3", "C4"]),
    moved=st.booleans(),
    category=st.booleans(),
    submitted=submissions,
    on_c2=st.sets(st.integers(0, 24), max_size=8),
    decided_h=st.one_of(st.none(), as_of_hours),
    outcome=st.sampled_from([None, "符合", "不符合"]),
    voided=st.sets(st.integers(0, 24), max_size=3),
    gone=st.sets(st.integers(0, 24), max_size=3),
    first_h=as_of_hours,
    later_h=st.integers(0, HOURS),
)
def test_a_refresh_after_a_delta_load_equals_a_refresh_from_scratch(
    con,
    monkeypatch,
    log,
    delta,
    changed,
    case_changed,
    decided_h,
    outcome,
    voided,
    gone,
    on_c2,
    first_h,
    later_h,
    submitted,
    moved,
    category,
):
    load_log(con, log)
    _second_case(con, on_c2)
    if decided_h is not None:  # the case decided (fct_cases: settled once the decision is known)
        decided = START + dt.timedelta(hours=decided_h)
        con.execute(
            "update stg_cases set decided_at = greatest(?, submitted_at), outcome = '符合'",
            [decided],
        )
    _submissions(con, submitted)
    _stamp(con, "stg_tasks")
    _stamp(con, "stg_cases")
    first = START + dt.timedelta(hours=first_h)
    refresh_marts(con, first, ZZ)
    disputed = sorted(i for i in voided if i < len(log))
    for n in disputed:  # disputes void stored tasks' strikes
        record_dispute(con, f"T{n:03d}", "void", "推送失败，专家未收到", "test")
    # the delta: some stored tasks in a new version, the others new tasks, maybe the case again
    numbers = [i if i in changed and i < len(log) else 100 + i for i in range(len(delta))]
    rows = task_rows(delta, numbers)
    ids = [r["task_id"] for r in rows]
    ids += [f"T{n:03d}" for n in gone if n not in changed]  # tasks gone from the log
    con.execute("delete from stg_tasks where task_id in (select unnest(?))", [ids])
    put(con, "stg_tasks", rows)
    record_cutoff(con, LATE_EXPORT)
    _stamp(con, "stg_tasks", "load_id is null")
    if case_changed:  # a case again, maybe with another outcome or of another person
        where = f"case_id = '{case_changed}'"
        con.execute(f"update stg_cases set outcome = coalesce(?, outcome) where {where}", [outcome])
        if moved:
            con.execute(f"update stg_cases set person_id = 'P2' where {where}")
        if category:
            con.execute(f"update stg_cases set category = '定额' where {where}")
        _stamp(con, "stg_cases", where)
    later = first + dt.timedelta(hours=later_h)
    state = engine.mart_state(con, ZZ)
    assert delta_values(_previous_meta(con), state, facts_at(con, later)) is not None
    by_month = _spied(monkeypatch, "refresh_by_month")
    by_group = _spied(monkeypatch, "refresh_numbered")
    refresh_marts(con, later, ZZ)
    assert by_month == BY_MONTH
    # a decision recorded since (a void) rebuilds the strikes whole
    assert by_group == ([] if disputed else ["fct_strikes_raw"])
    brought = _marts(con)
    con.execute("drop table mart_meta")  # nothing to start from: every mart from scratch
    refresh_marts(con, later, ZZ)
    assert _marts(con) == brought


def test_the_months_of_a_time_column_are_looked_for_within_their_range_first():
    # months running on without a gap: their range alone (December's ends with January of the
    # next year; a null time is the month '-')
    of = "strftime(counted_at, '%Y-%m')"
    assert incremental._of_months(of, ["2025-12", "-", "2025-11"]) == (
        "(counted_at is null or counted_at >= cast('2025-11-01' as date)"
        " and counted_at < cast('2026-01-01' as date))"
    )
    assert incremental._of_months(of, ["2025-12", "2026-01"]) == (
        "(counted_at >= cast('2025-12-01' as date) and counted_at < cast('2026-02-01' as date))"
    )
    # a gap (October without November): the range, then each row's month looked up
    assert incremental._of_months(of, ["2025-12", "-", "2025-10"]) == (
        "(counted_at is null or counted_at >= cast('2025-10-01' as date)"
        " and counted_at < cast('2026-01-01' as date))"
        " and coalesce(strftime(counted_at, '%Y-%m'), '-') in (select month from _months)"
    )
    # another month expression (a text column), or only '-': the list alone
    listed = "coalesce(month, '-') in (select month from _months)"
    assert incremental._of_months("month", ["2026-01"]) == listed
    assert incremental._of_months("strftime(counted_at, '%Y-%m')", ["-"]) == listed.replace(
        "month, '-'", "strftime(counted_at, '%Y-%m'), '-'"
    )


def test_a_keyed_audit_reading_the_evaluation_time_may_not_list_the_columns_it_reads(monkeypatch):
    """`-- reads:` says an audit's rows follow from those columns alone: not so for one reading
    `$as_of` (in a comment it is only words)."""
    head = "-- by: case_id\n-- reads: fct_cases(case_id, outcome)\n"
    body = "with\nfinal as (\n    -- as of $as_of\n    select * from fct_cases{}\n)\nselect * from final"
    for where, fails in (("", False), (" where submitted_at <= $as_of", True)):
        text = head + body.format(where)
        monkeypatch.setattr(incremental, "_text", lambda name, text=text: text)
        monkeypatch.setattr(incremental, "_parts", lambda name, text=text: (text[len(head) :], ""))
        if fails:
            with pytest.raises(ValueError, match=r"audit_x reads \$as_of"):
                incremental.reads.__wrapped__("audit_x")
        else:
            assert incremental.reads.__wrapped__("audit_x") == {"fct_cases": ("case_id", "outcome")}
