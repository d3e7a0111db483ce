"""ZZ-FEE, ZZ-ARCHIVE and the "at risk now" list."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_rules_support import DIABETES, TUMOUR, ZZ, case, expert, load, pick, task, ts

from pipelines.errors import CalendarGapError
from pipelines.rules import at_risk, expert_fees, monthly_archive


def review(task_id: str, case_id: str, expert_id: str, completed_at: str | None) -> dict:
    return task(
        task_id,
        case_id=case_id,
        expert_id=expert_id,
        responded_at="2026-03-02 10:00:00",
        response="受理",
        completed_at=completed_at,
        verdict="符合" if completed_at else None,
    )


def test_fees_count_distinct_completed_cases_per_expert_and_month(con):
    load(
        con,
        experts=[expert("E1"), expert("E2"), expert("E3")],
        cases=[case("C1"), case("C2"), case("C3")],
        tasks=[
            review("T1", "C1", "E1", "2026-03-03 10:00:00"),
            review("T2", "C2", "E1", "2026-03-31 23:59:59"),
            review("T3", "C2", "E1", "2026-03-04 10:00:00"),  # same case again: one review
            review("T4", "C3", "E1", "2026-04-01 00:00:00"),
            review("T5", "C1", "E2", "2026-03-03 11:00:00"),
            review("T6", "C3", "E3", None),  # never completed
            task(
                "T7",
                case_id="C3",
                expert_id="E3",
                responded_at="2026-03-02 10:00:00",
                response="不受理",
            ),
        ],
    )
    march = expert_fees(con, ZZ, month="2026-03")
    assert pick(march, "expert_id", "reviews", "amount_yuan") == [("E1", 2, 20), ("E2", 1, 10)]
    assert pick(expert_fees(con, ZZ, month="2026-04"), "expert_id", "reviews") == [("E1", 1)]
    by_as_of = expert_fees(con, ZZ, month="2026-03", as_of=ts("2026-03-03 10:30:00"))
    assert pick(by_as_of, "expert_id", "reviews") == [("E1", 1)]


def test_archive_counts_decided_cases_per_month_disease_and_outcome(con):
    decided = {"decided_at": "2026-03-10 10:00:00"}
    load(
        con,
        cases=[
            case("C1", outcome="符合", **decided),
            case("C2", outcome="符合", **decided),
            case("C3", outcome="不符合", **decided),
            case("C4", outcome="符合", disease_name=TUMOUR, **decided),
            case("C5", outcome="符合", decided_at="2026-04-01 00:00:00"),
            case("C6"),  # pending
        ],
    )
    table = monthly_archive(con, ZZ, month="2026-03")
    assert pick(table, "disease_name", "outcome", "cases") == [  # code point order
        (TUMOUR, "符合", 1),
        (DIABETES, "不符合", 1),
        (DIABETES, "符合", 2),
    ]


def test_at_risk_lists_deadlines_within_the_horizon_not_yet_passed(con):
    # as of Tue 2026-03-03 12:00: responses due by 16:00; completions due by 24:00 of Wed 4 Mar
    load(
        con,
        experts=[expert("E1", expert_name="张三")],
        tasks=[
            task("A1", pushed_at="2026-03-03 06:00:00"),  # due 14:00, 2 h left
            task("A2", pushed_at="2026-03-03 08:00:00"),  # due 16:00, exactly 4 h left
            task("A3", pushed_at="2026-03-03 08:00:01"),  # due 16:00:01, beyond 4 h
            task("A4", pushed_at="2026-03-03 02:00:00"),  # due 10:00, already passed
            task(
                "A5",
                pushed_at="2026-03-03 07:00:00",
                responded_at="2026-03-03 07:30:00",
                response="不受理",
            ),
            task(
                "K1",
                pushed_at="2026-03-02 09:00:00",
                responded_at="2026-03-02 10:00:00",
                response="受理",
            ),  # due 2026-03-05 00:00, within the next working day
            task(
                "K2",
                pushed_at="2026-03-03 09:00:00",
                responded_at="2026-03-03 10:00:00",
                response="受理",
            ),  # due 2026-03-06 00:00, beyond
            task(
                "K3",
                pushed_at="2026-03-02 09:00:00",
                responded_at="2026-03-02 10:00:00",
                response="受理",
                completed_at="2026-03-03 11:00:00",
                verdict="符合",
            ),
        ],
    )
    table = at_risk(con, ts("2026-03-03 12:00:00"), ZZ)
    assert pick(table, "task_id", "kind", "deadline", "hours_left", "expert_name") == [
        ("A1", "accept", ts("2026-03-03 14:00:00"), Decimal("2.0"), "张三"),
        ("A2", "accept", ts("2026-03-03 16:00:00"), Decimal("4.0"), "张三"),
        ("K1", "complete", ts("2026-03-05 00:00:00"), Decimal("36.0"), "张三"),
    ]


def test_at_risk_when_the_next_working_day_is_past_the_calendar(con):
    # K1 accepted Mon 2026-12-28 → due 2026-12-31 00:00; K2 accepted Wed 30 → due in 2027
    load(
        con,
        tasks=[
            task(
                "K1",
                pushed_at="2026-12-28 09:00:00",
                responded_at="2026-12-28 10:00:00",
                response="受理",
            ),
            task(
                "K2",
                pushed_at="2026-12-30 09:00:00",
                responded_at="2026-12-30 10:00:00",
                response="受理",
            ),
        ],
    )
    # horizon 24:00 of Thu 31 Dec is known, and K2's deadline is after it
    assert pick(at_risk(con, ts("2026-12-30 12:00:00"), ZZ), "task_id") == [("K1",)]
    # the working day after 31 Dec is in 2027: whether K2 is due by then needs the 2027 calendar
    with pytest.raises(CalendarGapError) as err:
        at_risk(con, ts("2026-12-31 12:00:00"), ZZ)
    assert err.value.year == 2027
