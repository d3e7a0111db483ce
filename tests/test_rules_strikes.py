"""ZZ-STRIKE: numbering per expert per calendar year, actions, permanent disqualification."""

from __future__ import annotations

import pytest
from test_rules_support import ZZ, case, expert, load, pick, task, ts

from pipelines.rules import expert_disqualifications, strikes

AS_OF = ts("2027-01-01 00:00:00")


def unanswered(task_id: str, pushed_at: str) -> dict:
    """A task never responded to: an accept_timeout at pushed_at + 8h."""
    return task(task_id, pushed_at=pushed_at)


def test_strikes_are_numbered_in_time_order_with_the_profile_actions(con):
    load(
        con,
        tasks=[
            unanswered("T4", "2026-03-05 09:00:00"),
            unanswered("T1", "2026-03-02 09:00:00"),
            unanswered("T3", "2026-03-04 09:00:00"),
            unanswered("T2", "2026-03-03 09:00:00"),
        ],
    )
    table = strikes(con, AS_OF, ZZ)
    assert pick(table, "strike_no", "task_id", "deadline", "action") == [
        (1, "T1", ts("2026-03-02 17:00:00"), "sms"),
        (2, "T2", ts("2026-03-03 17:00:00"), "notify_hospital"),
        (3, "T3", ts("2026-03-04 17:00:00"), "disqualify"),
        (4, "T4", ts("2026-03-05 17:00:00"), "after_disqualified"),
    ]
    assert expert_disqualifications(con, AS_OF, ZZ).to_pylist() == [
        {"expert_id": "E1", "disqualified_at": ts("2026-03-04 17:00:00"), "source": "strike"}
    ]


def test_strikes_with_the_same_deadline_are_ordered_by_task_id(con):
    load(
        con,
        tasks=[unanswered("T-b", "2026-03-02 09:00:00"), unanswered("T-a", "2026-03-02 09:00:00")],
    )
    assert pick(strikes(con, AS_OF, ZZ), "strike_no", "task_id") == [(1, "T-a"), (2, "T-b")]


def test_numbering_restarts_each_year_while_disqualification_persists(con):
    load(
        con,
        cases=[case(submitted_at="2025-03-01 08:00:00")],
        tasks=[
            unanswered("T1", "2025-03-03 09:00:00"),
            unanswered("T2", "2025-03-04 09:00:00"),
            unanswered("T3", "2025-03-05 09:00:00"),
            unanswered("T4", "2026-03-02 09:00:00"),
        ],
    )
    assert pick(strikes(con, AS_OF, ZZ), "strike_year", "strike_no", "task_id", "action") == [
        (2025, 1, "T1", "sms"),
        (2025, 2, "T2", "notify_hospital"),
        (2025, 3, "T3", "disqualify"),
        (2026, 1, "T4", "sms"),
    ]
    assert pick(strikes(con, AS_OF, ZZ, year=2026), "task_id") == [("T4",)]
    (dq,) = expert_disqualifications(con, AS_OF, ZZ).to_pylist()
    assert dq["disqualified_at"] == ts("2025-03-05 17:00:00")


def test_push_on_31_december_with_deadline_on_1_january_counts_in_the_new_year(con):
    load(
        con,
        cases=[case(submitted_at="2025-03-01 08:00:00")],
        tasks=[
            unanswered("T1", "2025-03-03 09:00:00"),
            unanswered("T2", "2025-03-04 09:00:00"),
            unanswered("T3", "2025-12-31 20:00:00"),
        ],
    )
    table = strikes(con, AS_OF, ZZ)
    assert pick(table, "task_id", "deadline", "strike_year", "strike_no", "action") == [
        ("T1", ts("2025-03-03 17:00:00"), 2025, 1, "sms"),
        ("T2", ts("2025-03-04 17:00:00"), 2025, 2, "notify_hospital"),
        ("T3", ts("2026-01-01 04:00:00"), 2026, 1, "sms"),
    ]
    assert expert_disqualifications(con, AS_OF, ZZ).num_rows == 0


def test_a_strike_exists_only_once_its_deadline_has_passed(con):
    load(con, tasks=[unanswered("T1", "2026-03-02 09:00:00")])
    assert strikes(con, ts("2026-03-02 17:00:00"), ZZ).num_rows == 0
    assert strikes(con, ts("2026-03-02 17:00:01"), ZZ).num_rows == 1


def test_strikes_are_counted_per_expert(con):
    load(
        con,
        experts=[expert("E1"), expert("E2")],
        tasks=[
            unanswered("T1", "2026-03-02 09:00:00"),
            task("T2", expert_id="E2", pushed_at="2026-03-02 10:00:00"),
            unanswered("T3", "2026-03-03 09:00:00"),
        ],
    )
    assert pick(strikes(con, AS_OF, ZZ), "expert_id", "strike_no", "task_id") == [
        ("E1", 1, "T1"),
        ("E1", 2, "T3"),
        ("E2", 1, "T2"),
    ]


@pytest.mark.parametrize(
    ("disqualified_on", "expected"),
    [
        ("2026-03-01", (ts("2026-03-01 00:00:00"), "register")),  # register first
        ("2026-06-01", (ts("2026-03-04 17:00:00"), "strike")),  # third strike first
        ("2027-02-01", (ts("2026-03-04 17:00:00"), "strike")),  # register date after as_of
    ],
)
def test_effective_disqualification_is_the_earlier_of_register_and_strikes(
    con, disqualified_on, expected
):
    load(
        con,
        experts=[expert("E1", disqualified_on=disqualified_on)],
        tasks=[
            unanswered("T1", "2026-03-02 09:00:00"),
            unanswered("T2", "2026-03-03 09:00:00"),
            unanswered("T3", "2026-03-04 09:00:00"),
        ],
    )
    assert pick(expert_disqualifications(con, AS_OF, ZZ), "disqualified_at", "source") == [expected]


def test_register_disqualification_counts_from_00_00_of_its_day(con):
    load(con, experts=[expert("E1", disqualified_on="2026-05-01")])
    assert expert_disqualifications(con, ts("2026-04-30 23:59:59"), ZZ).num_rows == 0
    assert expert_disqualifications(con, ts("2026-05-01 00:00:00"), ZZ).to_pylist() == [
        {"expert_id": "E1", "disqualified_at": ts("2026-05-01 00:00:00"), "source": "register"}
    ]
