"""The Taiyuan rules (RULES "Taiyuan profile"), one audit model each (audit_ty_<rule>.sql), in
`violations --profile taiyuan`: deadlines hand-computed on the 2026 calendar across holidays and
make-up workdays (调休), on the deadline, one working day over, a 调休 Saturday counted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import put
from test_rules_support import TY, ZZ, case, expert, hospital, load, ts

from pipelines.errors import CalendarGapError
from pipelines.rules import violations

AS_OF = ts("2026-12-01 00:00:00")


def rows_of(con, rule_id: str, profile=TY, as_of=AS_OF) -> dict[str, Any]:
    """case_id (and expert_id) → detail of one rule's rows."""
    out = {}
    for r in violations(con, as_of, profile).to_pylist():
        if r["rule_id"] == rule_id:
            out[r["case_id"] + (f"/{r['expert_id']}" if r["expert_id"] else "")] = r["detail"]
    return out


def ding(case_id: str, **kw: Any) -> dict[str, Any]:
    """A 定额 case certified 符合 (dates typed here: the shared helper types only `*_at`)."""
    base = {"category": "定额", "outcome": "符合", "decided_at": "2026-02-12 10:00:00"}
    row = case(case_id, **{**base, **kw})
    for k in ("publicity_from", "publicity_to", "benefit_start"):
        if isinstance(row.get(k), str):
            row[k] = dt.date.fromisoformat(row[k])
    return row


def over(detail: str) -> str:
    return detail[detail.rindex("超期") :]


# TY-CYCLE: submitted Fri 2026-02-06 → Mon 9 … Fri 13 (1–5), Sat 14 调休 (6), 15–23 Spring
# Festival, Tue 24 … Fri 27 (7–10), Sat 28 调休 (11), Mon 2 Mar … Thu 12 Mar (12–20):
# deadline 2026-03-12 24:00 = 2026-03-13 00:00:00.
CYCLE = {"submitted_at": "2026-02-06 09:00:00"}


def test_ty_cycle_counts_from_submission_to_entry_across_spring_festival(con):
    load(
        con,
        cases=[
            ding("C1", entered_at="2026-03-12 23:59:59", **CYCLE),
            ding("C2", entered_at="2026-03-13 00:00:00", **CYCLE),  # exactly on the deadline
            ding("C3", entered_at="2026-03-13 08:00:00", **CYCLE),  # Fri 13: working day 21
            ding("C4", entered_at="2026-03-14 10:00:00", **CYCLE),  # Sat 14 off: still 1 over
            ding("C5", entered_at="2026-03-16 10:00:00", **CYCLE),  # Mon 16: 2 over
            ding("C6", **CYCLE),  # not entered
            ding("C7", category="非定额", entered_at="2026-04-30 10:00:00", **CYCLE),
            ding("C8", outcome="不符合", **CYCLE),
        ],
    )
    got = rows_of(con, "TY-CYCLE", as_of=ts("2026-03-17 12:00:00"))
    assert {k: over(v) for k, v in got.items()} == {
        "C3": "超期1个工作日。",
        "C4": "超期1个工作日。",
        "C5": "超期2个工作日。",
        "C6": "超期3个工作日。",  # at Tue 17 March: 13, 16, 17
    }
    assert got["C3"] == (
        "于2026-02-06申报，认定周期应不超过20个工作日（2026-03-13 00:00:00前完成录入并发放"
        "诊疗手册），实际于2026-03-13 08:00:00录入，超期1个工作日。"
    )
    assert "截至核查时间仍未录入" in got["C6"]
    # before the deadline passed nothing is open late; the Zhengzhou profile has no TY rules
    assert rows_of(con, "TY-CYCLE", as_of=ts("2026-03-12 18:00:00")) == {}
    assert rows_of(con, "TY-CYCLE", ZZ, as_of=ts("2026-03-17 12:00:00")) == {}


def test_ty_cycle_is_judged_on_the_entry_not_on_the_benefit_start(con):
    # submitted Mon 2026-03-02 → deadline 2026-03-30 24:00; the benefit starts 1 April either way
    load(
        con,
        cases=[
            ding("C1", submitted_at="2026-03-02 08:00:00", entered_at="2026-03-30 16:00:00"),
            ding("C2", submitted_at="2026-03-02 08:00:00", entered_at="2026-03-31 09:00:00"),
        ],
    )
    assert list(rows_of(con, "TY-CYCLE")) == ["C2"]


def test_ty_publicity_counts_working_days_with_the_make_up_saturday(con):
    # certified Thu 2026-02-12; Fri 13, Sat 14 (调休), then Spring Festival to Mon 23 off
    load(
        con,
        cases=[
            ding("C1", publicity_from="2026-02-13", publicity_to="2026-02-26"),  # 13,14,24,25,26
            ding("C2", publicity_from="2026-02-13", publicity_to="2026-02-25"),  # 4
            ding("C3", publicity_from="2026-02-11", publicity_to="2026-02-26"),  # before 12 Feb
            ding("C4", publicity_from="2026-02-12", publicity_to=None),
            ding("C5", publicity_from="2026-02-14", publicity_to="2026-02-27"),  # 14,24–27: 5
            ding("C6", category="非定额"),
        ],
    )
    got = rows_of(con, "TY-PUBLICITY")
    assert got == {
        "C2": "于2026-02-12认定符合，公示期2026-02-13至2026-02-25仅含4个工作日，少于5个工作日。",
        "C3": "于2026-02-12认定符合，公示开始日期2026-02-11早于认定日期2026-02-12。",
        "C4": "于2026-02-12认定符合，未登记公示日期（公示开始或结束日期为空）。",
    }


# TY-ENTRY: publicity ends Wed 2026-09-30 → 1–7 Oct National Day → Thu 8 (1), Fri 9 (2),
# Sat 10 调休 (3): deadline 2026-10-10 24:00 = 2026-10-11 00:00:00.
ENTRY = {
    "decided_at": "2026-09-22 10:00:00",
    "publicity_from": "2026-09-23",
    "publicity_to": "2026-09-30",
}


def test_ty_entry_within_three_working_days_after_publicity_across_national_day(con):
    load(
        con,
        cases=[
            ding("C1", entered_at="2026-10-10 17:00:00", **ENTRY),  # on the 调休 Saturday
            ding("C2", entered_at="2026-10-11 00:00:00", **ENTRY),  # exactly on the deadline
            ding("C3", entered_at="2026-10-11 10:00:00", **ENTRY),  # Sunday off: 1 over
            ding("C4", entered_at="2026-10-12 09:00:00", **ENTRY),  # Mon 12: 1 over
            ding("C5", **ENTRY),  # open at Wed 14 Oct: 12, 13, 14
            ding("C6", entered_at="2026-10-15 09:00:00", **ENTRY),  # after the evaluation time
        ],
    )
    got = rows_of(con, "TY-ENTRY", as_of=ts("2026-10-14 12:00:00"))
    assert {k: over(v) for k, v in got.items()} == {
        "C3": "超期1个工作日。",
        "C4": "超期1个工作日。",
        "C5": "超期3个工作日。",
        "C6": "超期3个工作日。",
    }
    assert got["C4"] == (
        "公示期满于2026-09-30，应在3个工作日内（2026-10-11 00:00:00前）完成信息录入，"
        "实际于2026-10-12 09:00:00录入，超期1个工作日。"
    )
    assert "截至核查时间仍未录入" in got["C6"]  # its entry had not happened yet


def test_ty_benefit_starts_on_the_first_of_the_month_after_the_entry(con):
    load(
        con,
        cases=[
            ding("C1", entered_at="2026-10-12 09:00:00", benefit_start="2026-11-01"),
            ding("C2", entered_at="2026-10-12 09:00:00", benefit_start="2026-10-15"),
            ding("C3", entered_at="2026-10-31 23:00:00", benefit_start=None),
            ding("C4", entered_at="2026-10-31 23:00:00", benefit_start="2026-11-01"),
            ding("C5", benefit_start="2026-11-01"),  # not entered: TY-CYCLE, not TY-BENEFIT
        ],
    )
    assert rows_of(con, "TY-BENEFIT") == {
        "C2": "于2026-10-12录入，待遇应自2026-11-01起享受，登记为2026-10-15。",
        "C3": "于2026-10-31录入，待遇应自2026-11-01起享受，未登记待遇开始日期。",
    }


# TY-RECERT: requested Fri 2026-09-18 → Sun 20 调休 (1), 21–24 (2–5), 25 Mid-autumn off,
# 28–30 (6–8), 1–7 Oct off, 8, 9 (9, 10), Sat 10 调休 (11), 12–16 (12–16), 19–22 (17–20):
# deadline 2026-10-22 24:00 = 2026-10-23 00:00:00.
def recert(recert_id: str, completed_at: str | None = None, **kw: Any) -> dict[str, Any]:
    base = {"case_id": "C1", "requested_at": ts("2026-09-18 15:00:00")}
    done = {"completed_at": ts(completed_at), "outcome": "符合"} if completed_at else {}
    return {"recert_id": recert_id, **base, **done, **kw}


def test_ty_recert_within_twenty_working_days_across_national_day(con):
    load(con, cases=[ding("C1", category="定额", outcome="不符合")])
    put(
        con,
        "stg_recerts",
        [
            recert("R1", "2026-10-22 18:00:00"),
            recert("R2", "2026-10-23 00:00:00"),  # exactly on the deadline
            recert("R3", "2026-10-23 09:00:00"),  # 1 over
            recert("R4"),  # open at Mon 26 Oct: 23, 26
            recert("R5", requested_at=ts("2026-10-27 09:00:00")),  # after the evaluation time
        ],
    )
    got = sorted(violations(con, ts("2026-10-26 10:00:00"), TY).to_pylist(), key=str)
    got = [r["detail"] for r in got if r["rule_id"] == "TY-RECERT"]
    assert got == [
        "重新认定申请R3于2026-09-18提出，应在20个工作日内（2026-10-23 00:00:00前）完成，"
        "实际于2026-10-23 09:00:00完成，超期1个工作日。",
        "重新认定申请R4于2026-09-18提出，应在20个工作日内（2026-10-23 00:00:00前）完成，"
        "截至核查时间仍未完成，超期2个工作日。",
    ]


def test_ty_panel_two_deputy_senior_experts_of_the_certifying_hospital(con):
    load(
        con,
        hospitals=[hospital("H1"), hospital("H2")],
        experts=[
            expert("E1", title="主任医师"),
            expert("E2", title="副主任医师"),
            expert("E3", title="主治医师"),
            expert("E4", hospital_id="H2", title="主任医师"),
        ],
        cases=[
            ding("P1"),
            ding("P2"),
            ding("P3", outcome="不符合"),
            ding("P4"),
            ding("P5", outcome=None, decided_at=None),  # pending: no panel yet
            ding("P6", category="非定额"),  # online: no panel
            ding("P7", decided_at="2026-12-02 10:00:00"),  # decided after the evaluation time
        ],
    )
    signed = ts("2026-02-12 09:00:00")
    panel = [("P1", "E1"), ("P1", "E2"), ("P2", "E1"), ("P3", "E1"), ("P3", "E3")]
    panel += [("P4", "E1"), ("P4", "E2"), ("P4", "E4")]
    put(
        con,
        "stg_panel_opinions",
        [{"case_id": c, "expert_id": e, "opinion": "符合", "signed_at": signed} for c, e in panel],
    )
    assert rows_of(con, "TY-PANEL") == {
        "P2": "定额病种认定专家组意见仅1名专家，应不少于2名副高及以上本院专家。",
        "P3/E3": "专家组成员E3职称为主治医师，不具备副高及以上资质。",
        "P4/E4": "专家组成员E4不是认定医院的专家（所在医院H2）。",
    }
    assert rows_of(con, "TY-PANEL", ZZ) == {}


def test_panel_certified_cases_are_not_zhengzhou_push_cases(con):
    # a 定额 case has no pushed tasks and starts on the 1st after its entry, not its decision
    load(
        con,
        cases=[
            ding("C1", decided_at="2026-09-22 10:00:00", entered_at="2026-10-09 10:00:00",
                 benefit_start="2026-11-01"),
        ],
    )  # fmt: skip
    rules = {r["rule_id"] for r in violations(con, AS_OF, TY).to_pylist()}
    assert not rules & {"ZZ-ASSIGN", "ZZ-BENEFIT", "TY-BENEFIT"}


def test_a_deadline_in_a_year_the_calendar_does_not_cover_is_an_error_naming_it(con):
    # submitted Thu 2026-12-10: its 20th working day falls in 2027, which the calendar lacks
    load(
        con,
        cases=[ding("C1", submitted_at="2026-12-10 09:00:00", decided_at="2026-12-11 10:00:00")],
    )
    with pytest.raises(CalendarGapError) as exc:
        violations(con, ts("2027-01-20 00:00:00"), TY)
    assert "2027" in str(exc.value)
    assert rows_of(con, "TY-CYCLE", ZZ, as_of=ts("2027-01-20 00:00:00")) == {}
