"""mart_monthly_kpis and `kpis` with hand-computed expectations.

The world (evaluation time 2026-06-01 00:00, export later):
- hospitals H1 (中原区) and H2 (金水区); experts E1 (H1, 内分泌科), E2 (H2, 内分泌科), E3 (H1, 肿瘤科).
- cases C1 (H1, diabetes, submitted 03-02, 符合 on 03-05), C2 (H2, diabetes, 03-10, pending),
  C3 (H1, tumour, 04-01, 不符合 on 04-03).
- T1 C1→E1 pushed 03-02 09:00, accepted 10:00, completed 03-03 10:00: both on time; fee (March).
- T2 C1→E2 pushed 03-02 09:00, accepted 20:00 (due 17:00): accept_timeout at 03-02 17:00, E2's
  strike 1 → sms; completed 03-03 12:00: fee (March); not judged for completion (late acceptance).
- T3 C2→E1 pushed 03-10 09:00, never answered: accept_timeout at 03-10 17:00, E1's strike 1 → sms.
- T4 C2→E2 pushed Tue 03-31 12:00, accepted 13:00, never completed: due 24:00 of Thu 04-02 (Wed
  04-01 is working day 1) = 2026-04-03 00:00 → a strike of **April** although pushed in March,
  E2's strike 2 → notify_hospital.
- T5 C3→E3 pushed 04-01 09:00, accepted 09:30, completed 15:00: on time; fee (April).
"""

from __future__ import annotations

import csv

from test_rules_support import TUMOUR, ZZ, case, expert, hospital, load, task, ts

from pipelines.cli import main
from pipelines.rules import refresh_marts
from pipelines.rules.engine import run_from_scratch
from pipelines.rules.kpis import by_month, month_kpis

AS_OF = ts("2026-06-01 00:00:00")


def world(con) -> None:
    load(
        con,
        hospitals=[hospital("H1", district="中原区"), hospital("H2", district="金水区")],
        experts=[
            expert("E1"),
            expert("E2", hospital_id="H2"),
            expert("E3", specialty="肿瘤科"),
        ],
        cases=[
            case("C1", outcome="符合", decided_at="2026-03-05 10:00:00"),
            case("C2", hospital_id="H2", submitted_at="2026-03-10 08:00:00", person_id="P2"),
            case(
                "C3",
                disease_name=TUMOUR,
                submitted_at="2026-04-01 08:00:00",
                outcome="不符合",
                decided_at="2026-04-03 10:00:00",
                person_id="P3",
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
            task(
                "T2",
                expert_id="E2",
                responded_at="2026-03-02 20:00:00",
                response="受理",
                completed_at="2026-03-03 12:00:00",
                verdict="符合",
            ),
            task("T3", case_id="C2", pushed_at="2026-03-10 09:00:00"),
            task(
                "T4",
                case_id="C2",
                expert_id="E2",
                pushed_at="2026-03-31 12:00:00",
                responded_at="2026-03-31 13:00:00",
                response="受理",
            ),
            task(
                "T5",
                case_id="C3",
                expert_id="E3",
                pushed_at="2026-04-01 09:00:00",
                responded_at="2026-04-01 09:30:00",
                response="受理",
                completed_at="2026-04-01 15:00:00",
                verdict="不符合",
            ),
        ],
    )


MARCH_CITY = {
    "cases_submitted": 2,  # C1, C2
    "cases_decided": 1,  # C1
    "cases_approved": 1,
    "tasks_pushed": 4,  # T1–T4
    "accept_due": 4,
    "accept_on_time": 2,  # T1, T4
    "complete_due": 2,  # T1 (on time), T4 (overdue); T2's late acceptance is not judged
    "complete_on_time": 1,
    "strikes_sms": 2,  # T2 (E2), T3 (E1)
    "strikes_notify_hospital": 0,  # T4's deadline is in April
    "strikes_disqualify": 0,
    "strikes_after_disqualified": 0,
    "experts_disqualified": 0,
    "fee_reviews": 2,  # T1, T2 completed 03-03
    "fee_yuan": 20,
    "approval_rate": 1.0,
    "accept_on_time_rate": 0.5,
    "complete_on_time_rate": 0.5,
    "violations": 3,
    "violations:ZZ-ACCEPT": 2,  # T2, T3
    "violations:ZZ-COMPLETE": 1,  # T4, pushed in March
}


def test_the_city_month_sums_every_district(con):
    world(con)
    assert dict(month_kpis(con, ZZ, AS_OF, "2026-03")) == MARCH_CITY


def test_a_district_has_its_own_hospitals_cases_and_its_experts_tasks(con):
    world(con)
    h2 = dict(month_kpis(con, ZZ, AS_OF, "2026-03", district="金水区"))
    # C2 is H2's; T2 and T4 are E2's (H2): T2 late, T4 on time, T4 overdue in completion
    assert {k: h2[k] for k in ["cases_submitted", "cases_decided", "tasks_pushed"]} == {
        "cases_submitted": 1,
        "cases_decided": 0,
        "tasks_pushed": 2,
    }
    assert (h2["accept_due"], h2["accept_on_time"], h2["complete_due"]) == (2, 1, 1)
    assert (h2["complete_on_time"], h2["complete_on_time_rate"], h2["approval_rate"]) == (
        0,
        0.0,
        None,
    )
    assert (h2["strikes_sms"], h2["fee_reviews"], h2["fee_yuan"]) == (1, 1, 10)
    assert h2["violations"] == 2 and "violations:ZZ-ASSIGN" not in h2


def test_a_strike_counts_in_the_month_of_its_deadline_and_a_violation_without_task_in_its_cases(
    con,
):
    world(con)
    april = dict(month_kpis(con, ZZ, AS_OF, "2026-04"))
    assert april["strikes_notify_hospital"] == 1  # T4, E2's 2nd, due 2026-04-03 00:00
    assert (april["cases_submitted"], april["cases_decided"], april["cases_approved"]) == (1, 1, 0)
    assert (april["tasks_pushed"], april["fee_reviews"], april["fee_yuan"]) == (1, 1, 10)
    # C3 decided on one verdict: ZZ-ASSIGN, in the month of its submission
    assert (april["violations"], april["violations:ZZ-ASSIGN"]) == (1, 1)


def test_an_empty_month_has_every_count_at_zero_and_no_rate(con):
    world(con)
    may = dict(month_kpis(con, ZZ, AS_OF, "2026-05"))
    assert may["strikes_sms"] == 0 and may["fee_yuan"] == 0 and may["violations"] == 0
    assert may["approval_rate"] is None


def test_the_materialised_mart_is_the_model(con):
    world(con)
    scratch = run_from_scratch(con, "mart_monthly_kpis", ZZ, AS_OF)
    refresh_marts(con, AS_OF, ZZ)
    stored = con.execute("select * from mart_monthly_kpis").to_arrow_table()
    key = ["month", "district", "hospital_id", "specialty", "metric"]
    assert sorted(stored.to_pylist(), key=lambda r: [str(r[k]) for k in key]) == sorted(
        scratch.to_pylist(), key=lambda r: [str(r[k]) for k in key]
    )
    assert by_month(stored)["2026-03"]["strikes_sms"] == 2


def test_kpis_command_writes_metric_and_value(con, db_path, tmp_path):
    world(con)
    con.close()
    out = tmp_path / "kpis.csv"
    argv = ["kpis", "--db", str(db_path), "--month", "2026-03", "--district", "中原区"]
    assert main([*argv, "--as-of", "2026-06-01 00:00:00", "--out", str(out)]) == 0
    with out.open(encoding="utf-8") as fh:
        got = {r["metric"]: r["value"] for r in csv.DictReader(fh)}
    assert list(got)[:4] == ["cases_submitted", "cases_decided", "cases_approved", "tasks_pushed"]
    assert (got["strikes_sms"], got["strikes_notify_hospital"], got["fee_yuan"]) == ("1", "0", "10")
    assert (got["accept_on_time_rate"], got["violations:ZZ-ACCEPT"]) == ("0.5", "1")


def test_kpis_command_rejects_a_bad_month(con, db_path, tmp_path):
    con.close()
    argv = ["kpis", "--db", str(db_path), "--month", "2026-13", "--out", str(tmp_path / "k.csv")]
    assert main(argv) == 2
