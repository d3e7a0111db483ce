"""Rows in → rows out for the models the monitoring pages read (dim_hospitals, dim_experts,
dim_cases, mart_expert_timeliness, mart_task_timeline, mart_violation_events), with hand-computed
expectations, as sqlmesh's unit tests do.

The world (evaluation time 2026-06-01 00:00, export later; ZZ: respond within 8 hours, complete by
24:00 of the 2nd working day after acceptance):
- hospitals H1 (中原区), H2 (金水区); experts E1 (H1, 内分泌科, phone 13800000001), E2 (H2, 肿瘤科),
  E3 (H1, 内分泌科, 住院医师: not qualified, ZZ-EXPERT-QUAL, a state with no instant).
- cases C1 (H1, diabetes, Mon 03-02 08:00, 符合), C2 (H2, tumour, Tue 03-31 08:00, pending).
- T1 C1→E1 pushed 03-02 09:00 (respond by 17:00), accepted 10:00, completed Tue 03-03 10:00 (due
  Thu 03-05 00:00): on time twice; response 1 h, completed 38 h before its deadline.
- T2 C1→E2 pushed 03-02 09:00, accepted 20:00 (3 h late): E2's strike 1 (sms) of March; its
  completion is not judged (late acceptance).
- T3 C2→E1 pushed 03-31 09:00, never answered: overdue at 17:00, E1's strike 1 (March); at the
  evaluation time its deadline is 61 days 7 hours (1471 h) past.
- T4 C2→E2 pushed Tue 03-31 12:00, accepted 13:00, never completed: due 24:00 of Thu 04-02 =
  04-03 00:00 → E2's strike 2 in **April** although pushed in March.
"""

from __future__ import annotations

import pandas as pd
from test_rules_support import TUMOUR, ZZ, case, expert, hospital, load, pick, task, ts

from pipelines.audit import downloads, log_download
from pipelines.rules import refresh_marts
from pipelines.rules.engine import run_from_scratch
from pipelines.rules.kpis import by_month, with_rates
from pipelines.rules.lateness import late_hours, margin_hours

AS_OF = ts("2026-06-01 00:00:00")


def world(con) -> None:
    load(
        con,
        hospitals=[hospital("H1", district="中原区"), hospital("H2", district="金水区")],
        experts=[
            expert("E1", phone="13800000001"),
            expert("E2", hospital_id="H2", specialty="肿瘤科"),
            expert("E3", title="住院医师"),
        ],
        cases=[
            case("C1", outcome="符合", decided_at="2026-03-05 10:00:00"),
            case(
                "C2",
                hospital_id="H2",
                disease_name=TUMOUR,
                submitted_at="2026-03-31 08:00:00",
                person_id="P2",
            ),
        ],
        tasks=[
            task(
                "T1",
                responded_at="2026-03-02 10:00:00",
                response="受理",
                completed_at="2026-03-03 10:00:00",
                verdict="符合",
            ),
            task("T2", expert_id="E2", responded_at="2026-03-02 20:00:00", response="受理"),
            task("T3", case_id="C2", pushed_at="2026-03-31 09:00:00"),
            task(
                "T4",
                case_id="C2",
                expert_id="E2",
                pushed_at="2026-03-31 12:00:00",
                responded_at="2026-03-31 13:00:00",
                response="受理",
            ),
        ],
    )


def rows(con, model: str, *columns: str) -> list[tuple]:
    return pick(run_from_scratch(con, model, ZZ, AS_OF), *columns)


def test_dim_hospitals_one_row_per_hospital(con):
    world(con)
    assert rows(con, "dim_hospitals", "hospital_id", "hospital_name", "district") == [
        ("H1", "医院H1", "中原区"),
        ("H2", "医院H2", "金水区"),
    ]


def test_dim_experts_register_with_phone_and_district(con):
    world(con)
    got = rows(
        con, "dim_experts", "expert_id", "phone", "hospital_name", "district", "specialty", "title"
    )
    assert got == [
        ("E1", "13800000001", "医院H1", "中原区", "内分泌科", "主任医师"),
        ("E2", None, "医院H2", "金水区", "肿瘤科", "主任医师"),
        ("E3", None, "医院H1", "中原区", "内分泌科", "住院医师"),
    ]


def test_dim_experts_carries_the_disqualification_as_of_the_evaluation_time(con):
    world(con)
    con.execute("update stg_experts set disqualified_on = date '2026-04-01' where expert_id = 'E3'")
    got = rows(con, "dim_experts", "expert_id", "disqualified_at", "disqualified_source")
    assert got[2] == ("E3", ts("2026-04-01 00:00:00"), "register")
    assert got[0][1:] == (None, None)


def test_dim_cases_district_of_the_submitting_hospital_and_disease_specialty(con):
    world(con)
    got = rows(con, "dim_cases", "case_id", "hospital_id", "district", "specialty", "outcome")
    assert got == [
        ("C1", "H1", "中原区", "内分泌科", "符合"),
        ("C2", "H2", "金水区", "肿瘤科", None),
    ]


def test_expert_timeliness_tasks_by_push_month_strikes_by_deadline_month(con):
    world(con)
    cols = ["expert_id", "month", "district", "specialty", "tasks", "accept_due"]
    cols += ["accept_on_time", "complete_due", "complete_on_time", "strikes"]
    assert rows(con, "mart_expert_timeliness", *cols) == [
        # T1 on time twice; T3 overdue (accept due, never accepted: completion not due)
        ("E1", "2026-03", "中原区", "内分泌科", 2, 2, 1, 1, 1, 1),
        # T2 late (its completion not judged); T4 on time, then overdue completion
        ("E2", "2026-03", "金水区", "肿瘤科", 2, 2, 1, 1, 0, 1),
        # T4's strike: its missed deadline is 04-03 00:00
        ("E2", "2026-04", "金水区", "肿瘤科", 0, 0, 0, 0, 0, 1),
    ]


def test_task_timeline_hours_margins_and_strikes(con):
    world(con)
    cols = ["task_id", "response_hours", "completed_after_hours", "accept_margin_hours"]
    cols += ["complete_margin_hours", "is_accept_strike", "is_complete_strike"]
    cols += ["strike_no", "strike_action"]
    got = sorted(rows(con, "mart_task_timeline", *cols))
    assert got == [
        ("T1", 1.0, -38.0, 7.0, 38.0, False, False, None, None),
        ("T2", 11.0, None, -3.0, None, True, False, 1, "sms"),
        # never answered, or never completed: the mart holds no margin (it would change every
        # day); 专家时效 measures it at the marts' evaluation time (`lateness.margin_hours`)
        ("T3", None, None, None, None, True, False, 1, "sms"),
        ("T4", 1.0, None, 7.0, None, False, True, 2, "notify_hospital"),
    ]
    refresh_marts(con, AS_OF, ZZ)  # the marts and mart_meta a page reads
    measured = con.execute(
        f"select task_id, {margin_hours('t', 'accept')}, {margin_hours('t', 'complete')} "
        "from mart_task_timeline as t order by task_id"
    ).fetchall()
    assert measured == [
        ("T1", 7.0, 38.0),
        ("T2", -3.0, None),
        # never answered: margin at the evaluation time, 61 days 7 hours after 03-31 17:00
        ("T3", -1471.0, None),
        # open since its 04-03 00:00 deadline: 59 days at the evaluation time
        ("T4", 7.0, -1416.0),
    ]


def test_a_strike_is_late_by_its_answer_or_by_the_evaluation_time_while_none_came(con):
    world(con)
    refresh_marts(con, AS_OF, ZZ)
    got = con.execute(
        f"select task_id, late_seconds, {late_hours('s')} from mart_strike_evidence as s "
        "order by task_id"
    ).fetchall()
    # T2 answered 3 hours late (stored); T3 never answered and T4 never completed: measured at
    # the evaluation time, as the timeline's margins above (the mart holds none)
    assert got == [("T2", 10800, 3.0), ("T3", None, 1471.0), ("T4", None, 1416.0)]


def test_violation_events_carry_the_instant_they_count_at(con):
    world(con)
    cols = ["rule_id", "case_id", "task_id", "expert_id", "district", "specialty"]
    got = rows(con, "mart_violation_events", *cols, "occurred_at", "counted_at")
    pushed_t2, pushed_t3 = ts("2026-03-02 09:00:00"), ts("2026-03-31 09:00:00")
    c1 = ts("2026-03-02 08:00:00")
    assert got == [
        ("ZZ-ACCEPT", "C1", "T2", "E2", "金水区", "肿瘤科", pushed_t2, pushed_t2),
        ("ZZ-ACCEPT", "C2", "T3", "E1", "中原区", "内分泌科", pushed_t3, pushed_t3),
        # a case's breach: its submission; a task's: its push (the expert's specialty)
        ("ZZ-ASSIGN", "C1", None, None, "中原区", "内分泌科", c1, c1),
        ("ZZ-ASSIGN", "C1", "T2", "E2", "中原区", "肿瘤科", pushed_t2, pushed_t2),
        ("ZZ-ASSIGN", "C2", "T3", "E1", "金水区", "内分泌科", pushed_t3, pushed_t3),
        ("ZZ-COMPLETE", "C2", "T4", "E2", "金水区", "肿瘤科", *[ts("2026-03-31 12:00:00")] * 2),
        # a state with no instant: counted at the evaluation time
        ("ZZ-EXPERT-QUAL", None, None, "E3", "中原区", "内分泌科", None, AS_OF),
        ("ZZ-VERDICT", "C1", None, None, "中原区", "内分泌科", c1, c1),
    ]


def test_monthly_kpis_sum_the_timeliness_and_count_violations_at_their_instant(con):
    world(con)
    sums = by_month(run_from_scratch(con, "mart_monthly_kpis", ZZ, AS_OF))
    march = sums["2026-03"]
    assert [march[m] for m in ("tasks_pushed", "accept_due", "accept_on_time")] == [4, 4, 2]
    assert [march[m] for m in ("complete_due", "complete_on_time")] == [2, 1]
    assert sums["2026-06"] == {"violations:ZZ-EXPERT-QUAL": 1}
    assert march["violations:ZZ-ASSIGN"] == 3


def test_page_rates_come_from_the_summed_counts():
    frame = pd.DataFrame(
        {
            "专家": ["E1", "E2"],
            "任务数": [3, 0],
            "accept_on_time": [1, 0],
            "accept_due": [3, 0],
            "complete_on_time": [1, None],
            "complete_due": [2, None],
        }
    )
    got = with_rates(
        frame, {"accept_on_time_rate": "响应", "complete_on_time_rate": "办结"}, "任务数"
    )
    assert list(got.columns) == ["专家", "任务数", "响应", "办结"]
    assert got["响应"].tolist()[0] == 33.3 and got["办结"].tolist()[0] == 50.0
    assert got[["响应", "办结"]].iloc[1].isna().all()


def test_the_download_log_for_everyone_or_one_user(con):
    assert downloads(con).empty  # never downloaded: no table yet
    log_download(con, "city", "市级监管", "专家时效一览", "a.xlsx", 12, "full")
    log_download(con, "zy", "区县监管", "风险任务名单", "b.csv", 3, "masked")
    assert sorted(downloads(con)["username"]) == ["city", "zy"]
    mine = downloads(con, "zy")
    assert mine[["what", "rows", "personal_data"]].values.tolist() == [
        ["风险任务名单", 3, "masked"]
    ]
