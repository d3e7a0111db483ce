"""ZZ-ACCEPT and ZZ-COMPLETE deadlines (fct_tasks), with hand-computed instants from the 2026
calendar, and the calendar-gap errors."""

from __future__ import annotations

import pytest
from test_rules_support import ZZ, by, case, load, task, ts

from pipelines.errors import CalendarGapError
from pipelines.rules import strikes, task_deadlines

AS_OF = ts("2026-12-01 00:00:00")


def test_response_exactly_8_hours_after_push_is_on_time_one_second_more_is_late(con):
    load(
        con,
        tasks=[
            task(
                "T1",
                responded_at="2026-03-02 17:00:00",
                response="受理",
                completed_at="2026-03-03 10:00:00",
                verdict="符合",
            ),
            task(
                "T2",
                responded_at="2026-03-02 17:00:01",
                response="受理",
                completed_at="2026-03-03 10:00:00",
                verdict="符合",
            ),
        ],
    )
    rows = by(task_deadlines(con, AS_OF, ZZ), "task_id")
    assert rows["T1"]["accept_deadline"] == ts("2026-03-02 17:00:00")
    assert rows["T1"]["accept_status"] == "on_time"
    assert rows["T1"]["strike_kind"] is None
    assert rows["T2"]["accept_status"] == "late"
    assert rows["T2"]["accept_late_seconds"] == 1
    assert rows["T2"]["strike_kind"] == "accept_timeout"
    assert rows["T2"]["strike_at"] == ts("2026-03-02 17:00:00")
    assert rows["T2"]["complete_deadline"] is None  # a late acceptance earns no completion deadline


def test_completion_at_24_00_of_deadline_day_is_on_time_one_second_later_is_late(con):
    # accepted Mon 2026-03-02 → Tue 3 (1), Wed 4 (2) → 2026-03-04 24:00 = 2026-03-05 00:00:00
    accepted = {"responded_at": "2026-03-02 10:00:00", "response": "受理", "verdict": "符合"}
    load(
        con,
        tasks=[
            task("T1", completed_at="2026-03-05 00:00:00", **accepted),
            task("T2", completed_at="2026-03-05 00:00:01", **accepted),
        ],
    )
    rows = by(task_deadlines(con, AS_OF, ZZ), "task_id")
    assert rows["T1"]["complete_deadline"] == ts("2026-03-05 00:00:00")
    assert rows["T1"]["complete_status"] == "on_time"
    assert rows["T1"]["strike_kind"] is None
    assert rows["T2"]["complete_status"] == "late"
    assert rows["T2"]["complete_late_seconds"] == 1
    assert (rows["T2"]["strike_kind"], rows["T2"]["strike_at"]) == (
        "complete_timeout",
        ts("2026-03-05 00:00:00"),
    )


@pytest.mark.parametrize(
    ("accepted_at", "deadline"),
    [
        # RULES.md worked examples: 1–7 Oct holidays → Thu 8 (1), Fri 9 (2)
        ("2026-09-30 10:00:00", "2026-10-10 00:00:00"),
        # Sat 14 Feb is a make-up workday (1), 15–23 Feb Spring Festival, Tue 24 (2)
        ("2026-02-13 10:00:00", "2026-02-25 00:00:00"),
        # Sun 20 Sep is a make-up workday (1), Mon 21 (2)
        ("2026-09-18 10:00:00", "2026-09-22 00:00:00"),
        # 调休: Sat 10 Oct is a make-up workday (1), Sun 11 off, Mon 12 (2)
        ("2026-10-09 10:00:00", "2026-10-13 00:00:00"),
        # across the year: 1–3 Jan 2026 holidays, Sun 4 Jan make-up (1), Mon 5 (2)
        ("2025-12-31 10:00:00", "2026-01-06 00:00:00"),
    ],
)
def test_completion_deadline_worked_examples(con, accepted_at, deadline):
    pushed = accepted_at[:10] + " 09:00:00"
    load(con, tasks=[task("T1", pushed_at=pushed, responded_at=accepted_at, response="受理")])
    (row,) = task_deadlines(con, AS_OF, ZZ).to_pylist()
    assert row["complete_deadline"] == ts(deadline)
    assert row["complete_status"] == "overdue"
    assert row["strike_at"] == ts(deadline)


def test_late_decline_is_an_accept_timeout_and_on_time_decline_is_not(con):
    load(
        con,
        tasks=[
            task("T1", responded_at="2026-03-02 17:30:00", response="不受理"),
            task("T2", responded_at="2026-03-02 16:59:59", response="不受理"),
        ],
    )
    rows = by(task_deadlines(con, AS_OF, ZZ), "task_id")
    assert (rows["T1"]["strike_kind"], rows["T1"]["accept_late_seconds"]) == (
        "accept_timeout",
        1800,
    )
    assert rows["T2"]["strike_kind"] is None
    assert rows["T2"]["complete_status"] is None  # a decline has no completion deadline


def test_late_acceptance_then_late_completion_is_one_strike(con):
    load(
        con,
        tasks=[
            task(
                "T1",
                responded_at="2026-03-02 18:00:00",
                response="受理",
                completed_at="2026-03-20 10:00:00",
                verdict="符合",
            ),
        ],
    )
    table = strikes(con, AS_OF, ZZ)
    assert table.num_rows == 1
    (row,) = table.to_pylist()
    assert (row["kind"], row["deadline"]) == ("accept_timeout", ts("2026-03-02 17:00:00"))


@pytest.mark.parametrize(
    ("as_of", "status", "late_seconds"),
    # an overdue task's row holds no lateness (it would grow with the evaluation time, and every
    # day's refresh would rewrite the never-answered tasks): pages measure it from the deadline
    [("2026-03-02 17:00:00", "awaiting", None), ("2026-03-02 17:00:01", "overdue", None)],
)
def test_open_task_is_late_only_once_as_of_is_after_the_accept_deadline(
    con, as_of, status, late_seconds
):
    load(con, tasks=[task("T1")])
    (row,) = task_deadlines(con, ts(as_of), ZZ).to_pylist()
    assert (row["accept_status"], row["accept_late_seconds"]) == (status, late_seconds)
    assert (row["strike_kind"] is not None) is (status == "overdue")


@pytest.mark.parametrize(
    ("as_of", "status"),
    [("2026-03-05 00:00:00", "in_progress"), ("2026-03-05 00:00:01", "overdue")],
)
def test_open_review_is_late_only_once_as_of_is_after_24_00(con, as_of, status):
    load(con, tasks=[task("T1", responded_at="2026-03-02 10:00:00", response="受理")])
    (row,) = task_deadlines(con, ts(as_of), ZZ).to_pylist()
    assert row["complete_status"] == status
    assert (row["strike_kind"] == "complete_timeout") is (status == "overdue")


def test_events_recorded_after_as_of_have_not_happened(con):
    load(
        con,
        tasks=[
            task(
                "T1",
                responded_at="2026-03-02 12:00:00",
                response="受理",
                completed_at="2026-03-03 12:00:00",
                verdict="符合",
            ),
            task("T2", pushed_at="2026-03-02 12:00:00"),
        ],
    )
    rows = by(task_deadlines(con, ts("2026-03-02 11:00:00"), ZZ), "task_id")
    assert list(rows) == ["T1"]  # T2 is not pushed yet
    assert (rows["T1"]["responded_at"], rows["T1"]["response"]) == (None, None)
    assert rows["T1"]["accept_status"] == "awaiting"
    later = by(task_deadlines(con, ts("2026-03-03 11:00:00"), ZZ), "task_id")
    assert (later["T1"]["completed_at"], later["T1"]["complete_status"]) == (None, "in_progress")


def test_on_time_acceptance_on_an_uncovered_date_names_the_year(con):
    load(
        con,
        cases=[case(submitted_at="2027-01-04 08:00:00")],
        tasks=[
            task(
                "T1",
                pushed_at="2027-01-04 09:00:00",
                responded_at="2027-01-04 10:00:00",
                response="受理",
            )
        ],
    )
    with pytest.raises(CalendarGapError) as err:
        task_deadlines(con, ts("2027-01-05 00:00:00"), ZZ)
    assert err.value.year == 2027
    assert "2027" in str(err.value)


def test_late_acceptance_on_an_uncovered_date_needs_no_calendar(con):
    load(
        con,
        cases=[case(submitted_at="2027-01-04 08:00:00")],
        tasks=[
            task(
                "T1",
                pushed_at="2027-01-04 09:00:00",
                responded_at="2027-01-04 18:00:00",
                response="受理",
            )
        ],
    )
    (row,) = strikes(con, ts("2027-02-01 00:00:00"), ZZ).to_pylist()
    assert (row["kind"], row["strike_year"]) == ("accept_timeout", 2027)


# Accepted Wed 2026-12-30: Thu 31 Dec is working day 1, working day 2 is in 2027 (not covered),
# so the deadline is known only to be after 2027-01-01 00:00:00.
BEYOND = {"responded_at": "2026-12-30 10:00:00", "response": "受理"}


@pytest.mark.parametrize("as_of", ["2026-12-31 23:59:59", "2027-01-01 00:00:00"])
def test_deadline_past_the_calendar_needs_no_answer_until_the_calendar_ends(con, as_of):
    load(con, tasks=[task("T1", pushed_at="2026-12-30 09:00:00", **BEYOND)])
    (row,) = task_deadlines(con, ts(as_of), ZZ).to_pylist()
    assert row["complete_deadline"] is None
    assert row["is_complete_deadline_beyond_calendar"] is True
    assert (row["complete_status"], row["strike_kind"]) == ("in_progress", None)


def test_deadline_past_the_calendar_needs_the_next_year_once_as_of_is_past_it(con):
    load(con, tasks=[task("T1", pushed_at="2026-12-30 09:00:00", **BEYOND)])
    with pytest.raises(CalendarGapError) as err:
        strikes(con, ts("2027-01-01 00:00:01"), ZZ)
    assert err.value.year == 2027


@pytest.mark.parametrize("completed_at", ["2026-12-31 23:00:00", "2027-01-01 00:00:00"])
def test_completion_before_the_calendar_ends_is_on_time_whatever_the_deadline(con, completed_at):
    load(
        con,
        tasks=[
            task(
                "T1",
                pushed_at="2026-12-30 09:00:00",
                completed_at=completed_at,
                verdict="符合",
                **BEYOND,
            )
        ],
    )
    (row,) = task_deadlines(con, ts("2027-06-01 00:00:00"), ZZ).to_pylist()
    assert (row["complete_status"], row["strike_kind"]) == ("on_time", None)


def test_completion_after_the_calendar_ends_needs_the_next_year(con):
    load(
        con,
        tasks=[
            task(
                "T1",
                pushed_at="2026-12-30 09:00:00",
                completed_at="2027-01-01 00:00:01",
                verdict="符合",
                **BEYOND,
            )
        ],
    )
    with pytest.raises(CalendarGapError) as err:
        task_deadlines(con, ts("2027-06-01 00:00:00"), ZZ)
    assert err.value.year == 2027
