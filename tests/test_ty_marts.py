"""The Taiyuan marts the Taiyuan pages read: per case, per re-certification, per hospital."""

from __future__ import annotations

from conftest import put
from test_rules_support import TY, ZZ, case, expert, hospital, load, ts

from pipelines.rules.marts import refresh_marts

AS_OF = ts("2026-06-01 00:00:00")


def taiyuan_world(con) -> None:
    """H1: C1 entered late (cycle and entry), one panel member, a re-certification still open
    past its 20 working days; C2 on time with a full panel. H2: nothing."""
    quota = {"category": "定额", "outcome": "符合", "decided_at": "2026-03-05 10:00:00",
             "publicity_from": "2026-03-06", "publicity_to": "2026-03-12"}  # fmt: skip
    load(
        con,
        hospitals=[hospital("H1"), hospital("H2")],
        experts=[expert("E1"), expert("E2", title="副主任医师")],
        cases=[
            # submitted Mon 2 March: the 20th working day after it is Mon 30 March; publicity
            # Fri 6 – Thu 12 March (5 working days); entry due by the 3rd working day after
            # 12 March, Tue 17 March
            case("C1", entered_at="2026-04-15 09:00:00", benefit_start="2026-05-01", **quota),
            case("C2", entered_at="2026-03-13 09:00:00", benefit_start="2026-04-01", **quota),
        ],
    )
    signed = [("C1", "E1"), ("C2", "E1"), ("C2", "E2")]
    put(con, "stg_panel_opinions", [{"case_id": c, "expert_id": e, "opinion": "符合",
                                     "signed_at": ts("2026-03-04 16:00:00")} for c, e in signed])  # fmt: skip
    put(con, "stg_recerts", [{"recert_id": "R1", "case_id": "C1",
                              "requested_at": ts("2026-04-01 09:00:00")}])  # fmt: skip


def test_taiyuan_measures_per_hospital(con):
    taiyuan_world(con)
    refresh_marts(con, AS_OF, TY)
    rows = con.execute(
        "select * exclude (hospital_name, district) from mart_ty_hospital"
    ).fetchall()
    # hospital, 定额 cases, cycle late, publicity, entry late, panel, recerts, recerts late, penalty
    assert rows == [("H1", 2, 1, 0, 1, 1, 1, 1, 0), ("H2", 0, 0, 0, 0, 0, 0, 0, 0)]
    cases = con.execute(
        "select case_id, is_cycle_late, is_entry_late, publicity_workdays from mart_ty_cases "
        "order by case_id"
    ).fetchall()
    assert cases == [("C1", True, True, 5), ("C2", False, False, 5)]
    late = con.execute("select recert_id, is_late, deadline from mart_ty_recerts").fetchall()
    # requested Wed 1 April: Qingming 4–6 April off, Tue 7 April is working day 3 … working day 20
    # is Thu 30 April; the deadline is its 24:00
    assert late == [("R1", True, ts("2026-05-01 00:00:00"))]


def test_no_taiyuan_measures_under_zhengzhou(con):
    taiyuan_world(con)
    refresh_marts(con, AS_OF, ZZ)
    for mart in ("mart_ty_hospital", "mart_ty_cases", "mart_ty_recerts"):
        assert con.execute(f"select count(*) from {mart}").fetchone()[0] == 0


def test_entered_at_the_deadline_is_on_time_a_second_later_is_late(con):
    quota = {"category": "定额", "outcome": "符合", "decided_at": "2026-03-05 10:00:00",
             "publicity_from": "2026-03-06", "publicity_to": "2026-03-12"}  # fmt: skip
    # the 20th working day after Mon 2 March is Mon 30 March: the deadline is 2026-03-31 00:00
    load(
        con,
        cases=[
            case("C1", entered_at="2026-03-31 00:00:00", **quota),
            case("C2", entered_at="2026-03-31 00:00:01", **quota),
            case("C3", **quota),  # never entered: late once the evaluation time is past it
        ],
    )
    refresh_marts(con, AS_OF, TY)
    rows = con.execute(
        "select case_id, is_cycle_late, cycle_over from mart_ty_cases order by case_id"
    ).fetchall()
    # C2 entered on Tue 31 March, one working day after Mon 30 March; C3 still open on 1 June
    assert [r[:2] for r in rows] == [("C1", False), ("C2", True), ("C3", True)]
    assert rows[0][2] is None and rows[1][2] == 1
