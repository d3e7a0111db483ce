"""Properties of ZZ-STRIKE and ZZ-HOSPITAL5 over random task logs and expert registers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules_support import ZZ, case, expert, hospital, load

from pipelines.rules import hospital_penalties, strikes

START = dt.datetime(2025, 12, 20)  # pushes run to 2026-12-20: every deadline is in the calendar
HOURS = 365 * 24
EXPERTS = ["E1", "E2", "E3", "E4"]
HOSPITALS = ["H1", "H2"]
EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

task_logs = st.lists(
    st.tuples(
        st.sampled_from(EXPERTS),
        st.integers(0, HOURS),  # push, hours after START
        st.sampled_from([None, "受理", "不受理"]),
        st.integers(0, 12 * 3600),  # response delay, seconds
        st.one_of(st.none(), st.integers(0, 5 * 24 * 3600)),  # completion delay, seconds
    ),
    max_size=25,
)
as_of_hours = st.integers(0, HOURS + 24 * 10)


def reset(con) -> None:
    for table in ("stg_tasks", "stg_cases", "stg_experts", "stg_hospitals"):
        con.execute(f"delete from {table}")


def task_rows(log, numbers=None) -> list[dict]:
    """stg_tasks rows of a task log (task ids T000, T001, … or the given numbers)."""
    tasks = []
    for i, (expert_id, push_h, response, response_s, complete_s) in enumerate(log):
        pushed = START + dt.timedelta(hours=push_h)
        task_id = f"T{(numbers[i] if numbers else i):03d}"
        row = {"task_id": task_id, "case_id": "C1", "expert_id": expert_id, "pushed_at": pushed}
        if response:
            row |= {"responded_at": pushed + dt.timedelta(seconds=response_s), "response": response}
        if response == "受理" and complete_s is not None:
            row |= {
                "completed_at": row["responded_at"] + dt.timedelta(seconds=complete_s),
                "verdict": "符合",
            }
        tasks.append(row)
    return tasks


def load_log(con, log, registers=None) -> None:
    reset(con)
    tasks = task_rows(log)
    load(
        con,
        hospitals=[hospital(h) for h in HOSPITALS],
        experts=registers or [expert(e) for e in EXPERTS],
        cases=[case(submitted_at="2025-12-01 08:00:00")],
        tasks=tasks,
    )


@EXAMPLES
@given(log=task_logs, as_of_h=as_of_hours)
def test_strikes_at_most_one_per_task_numbered_from_1_per_expert_year(con, log, as_of_h):
    load_log(con, log)
    as_of = START + dt.timedelta(hours=as_of_h)
    rows = strikes(con, as_of, ZZ).to_pylist()
    assert len({r["task_id"] for r in rows}) == len(rows)
    groups = defaultdict(list)
    for r in rows:
        assert r["deadline"] < as_of
        assert r["strike_year"] == r["deadline"].year
        groups[r["expert_id"], r["strike_year"]].append(r)
    for group in groups.values():
        assert [r["strike_no"] for r in group] == list(range(1, len(group) + 1))
        keys = [(r["deadline"], r["task_id"]) for r in group]
        assert keys == sorted(keys)


registers = st.lists(
    st.tuples(
        st.sampled_from(HOSPITALS),
        st.dates(dt.date(2024, 1, 1), dt.date(2027, 6, 1)),  # registered_on
        st.one_of(st.none(), st.dates(dt.date(2025, 1, 1), dt.date(2027, 6, 1))),
    ),
    min_size=1,
    max_size=len(EXPERTS),
)


@EXAMPLES
@given(log=task_logs, register=registers, as_of_h=as_of_hours)
def test_penalty_follows_the_exact_integer_comparison(con, log, register, as_of_h):
    experts = [
        expert(EXPERTS[i], hospital_id=h, registered_on=r, disqualified_on=d)
        for i, (h, r, d) in enumerate(register)
    ]
    load_log(con, [t for t in log if t[0] in {e["expert_id"] for e in experts}], experts)
    num, den = ZZ["hospital_penalty"]["rate_numerator"], ZZ["hospital_penalty"]["rate_denominator"]
    as_of = START + dt.timedelta(hours=as_of_h)
    for r in hospital_penalties(con, as_of, ZZ, year=2026).to_pylist():
        t, d = r["experts_total"], r["experts_disqualified"]
        assert t >= 1 and 0 <= d <= t
        assert Decimal(0) <= r["ratio"] <= Decimal(1)
        assert abs(r["ratio"] - Decimal(d) / Decimal(t)) <= Decimal("0.00005")
        assert r["penalized"] == (d >= 1 and d * den >= t * num)
        assert r["one_more_penalized"] == (
            not r["penalized"] and d + 1 <= t and (d + 1) * den >= t * num
        )
