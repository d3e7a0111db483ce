"""DATA-CUTOFF, ZZ-DISPUTE and ZZ-ACTION with hand-computed expectations.

The world: expert E1 of hospital H1 (two experts, so one disqualification is 50 % ≥ 5 %) never
answers four tasks pushed 2026-03-02 … 03-05 at 09:00: accept deadlines 17:00 of each day, strikes
1–4 → sms, notify_hospital, disqualify (2026-03-04 17:00), after_disqualified.
"""

from __future__ import annotations

import pytest
from conftest import put
from test_rules_support import ZZ, case, expert, hospital, load, pick, record_cutoff, task, ts

from pipelines.cli import main
from pipelines.decisions import (
    action_ledger,
    record_action_done,
    record_dispute,
    record_outage,
)
from pipelines.draws.verify import verify_log
from pipelines.errors import DataError, UsageError
from pipelines.evaltime import resolve, warehouse_cutoff
from pipelines.ingest import ingest
from pipelines.rules import at_risk, expert_disqualifications, hospital_penalties, strikes
from pipelines.rules.violations import violations

AS_OF = ts("2027-01-01 00:00:00")
PUSHES = [
    "2026-03-02 09:00:00",
    "2026-03-03 09:00:00",
    "2026-03-04 09:00:00",
    "2026-03-05 09:00:00",
]


def world(con, cutoff: str | None = "2030-01-01 00:00:00", more: list[dict] | None = None):
    load(
        con,
        hospitals=[hospital("H1")],
        experts=[expert("E1"), expert("E2")],
        tasks=[task(f"T{i}", pushed_at=p) for i, p in enumerate(PUSHES, 1)] + (more or []),
        cutoff=cutoff,
    )


def numbered(con, as_of=AS_OF) -> list[tuple]:
    return pick(strikes(con, as_of, ZZ), "task_id", "strike_no", "action")


# ---- DATA-CUTOFF -------------------------------------------------------------------------------


def test_a_deadline_after_the_cutoff_is_no_strike_whatever_the_evaluation_time(con):
    world(con, cutoff="2026-03-03 20:00:00")
    # T3 (due 03-04 17:00) and T4 (03-05 17:00) are due after the cut-off: the export cannot show
    # whether E1 answered them, so at 2027 only T1 and T2 are strikes.
    assert numbered(con) == [("T1", 1, "sms"), ("T2", 2, "notify_hospital")]
    assert expert_disqualifications(con, AS_OF, ZZ).num_rows == 0
    assert not hospital_penalties(con, AS_OF, ZZ, year=2026).column("penalized")[0].as_py()


def test_the_cutoff_is_the_latest_load_and_the_default_evaluation_time(con):
    world(con, cutoff="2026-03-03 20:00:00")
    record_cutoff(con, "2026-03-02 12:00:00")  # an older export loaded later does not go back
    assert warehouse_cutoff(con) == ts("2026-03-03 20:00:00")
    when = resolve(con, None)
    assert (when.eval_at, when.facts_at, when.beyond_cutoff) == (
        ts("2026-03-03 20:00:00"),
        ts("2026-03-03 20:00:00"),
        False,
    )
    later = resolve(con, ts("2026-03-10 00:00:00"))
    assert later.facts_at == ts("2026-03-03 20:00:00") and later.beyond_cutoff
    assert "晚于数据截止时间" in later.note()
    before = resolve(con, ts("2026-03-02 17:00:00"))
    assert before.facts_at == ts("2026-03-02 17:00:00") and before.note() is None


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2026-03-02 17:00:00", []),  # exactly at T1's deadline: not yet passed
        ("2026-03-02 17:00:01", [("T1", 1, "sms")]),
        ("2026-03-03 20:00:00", [("T1", 1, "sms"), ("T2", 2, "notify_hospital")]),  # at it
        ("2026-12-31 00:00:00", [("T1", 1, "sms"), ("T2", 2, "notify_hospital")]),  # after it
    ],
)
def test_evaluation_time_before_at_and_after_the_cutoff(con, as_of, expected):
    world(con, cutoff="2026-03-03 20:00:00")
    assert numbered(con, ts(as_of)) == expected


def test_events_after_an_earlier_evaluation_time_have_not_happened_yet(con):
    world(
        con, more=[task("T9", pushed_at="2026-03-09 09:00:00", responded_at="2026-03-09 20:00:00")]
    )
    # at 2026-03-09 16:00 T9 is open and not yet due; the late answer at 20:00 is in the future
    assert "T9" not in strikes(con, ts("2026-03-09 16:00:00"), ZZ).column("task_id").to_pylist()
    assert "T9" in strikes(con, ts("2026-03-09 20:00:00"), ZZ).column("task_id").to_pylist()


def test_open_tasks_due_after_the_cutoff_are_unconfirmed_first_on_the_morning_list(con):
    world(con, cutoff="2026-03-05 10:00:00", more=[task("T6", pushed_at="2026-03-05 03:00:00")])
    risk = at_risk(con, ts("2026-03-05 13:00:00"), ZZ)
    # T6 was due 11:00, after the cut-off and by 13:00: 待核实, 2 h over (never a strike);
    # T4 is due 17:00, exactly the 4-hour horizon ahead: at risk
    assert pick(risk, "task_id", "status", "hours_left") == [
        ("T6", "unconfirmed", pytest.approx(-2)),
        ("T4", "at_risk", pytest.approx(4)),
    ]
    assert [r[0] for r in numbered(con, ts("2026-03-05 12:00:00"))] == ["T1", "T2", "T3"]
    # a task pushed after the cut-off is not in the export at all
    late = at_risk(con, ts("2026-03-05 12:00:00"), ZZ)
    assert "T5" not in late.column("task_id").to_pylist()


def test_ingest_records_the_given_or_derived_cutoff(con, tmp_path):
    (tmp_path / "hospitals.csv").write_text("hospital_id,hospital_name\nH1,甲医院\n", "utf-8")
    (tmp_path / "experts.csv").write_text(
        "expert_id,hospital_id,specialty,title,registered_on\nE1,H1,内分泌科,主任医师,2025-01-01\n",
        "utf-8",
    )
    ingest(con, [tmp_path], log=lambda m: None)
    assert warehouse_cutoff(con) is None  # no event time in reference files
    (tmp_path / "tasks.csv").write_text(
        "task_id,case_id,expert_id,pushed_at,responded_at\nT1,C1,E1,2026-03-02 09:00:00,\n", "utf-8"
    )
    (tmp_path / "cases.csv").write_text(
        "case_id,person_id,disease_name,hospital_id,submitted_at,decided_at\n"
        "C1,11010519491231002X,糖尿病（合并严重并发症）,H1,2026-03-01 08:00:00,2026-03-02 10:30:00\n",
        "utf-8",
    )
    ingest(con, [tmp_path], log=lambda m: None)
    assert warehouse_cutoff(con) == ts("2026-03-02 10:30:00")  # derived: latest event time
    ingest(con, [tmp_path / "tasks.csv"], log=lambda m: None, cutoff=ts("2026-03-06 00:00:00"))
    assert warehouse_cutoff(con) == ts("2026-03-06 00:00:00")  # given


def test_without_a_recorded_cutoff_taiyuan_event_times_count_too(con):
    # an old warehouse (no cut-off in load_log): the latest event time of every staging table
    load(con, cases=[case(decided_at="2026-03-05 15:00:00")], cutoff=None)
    assert warehouse_cutoff(con) == ts("2026-03-05 15:00:00")
    con.execute("update stg_cases set entered_at = timestamp '2026-03-13 10:00:00'")
    assert warehouse_cutoff(con) == ts("2026-03-13 10:00:00")
    put(con, "stg_panel_opinions", [
        {"case_id": "C1", "expert_id": "E1", "opinion": "符合", "signed_at": ts("2026-03-20 09:00:00")}
    ])  # fmt: skip
    assert warehouse_cutoff(con) == ts("2026-03-20 09:00:00")
    recert = {"recert_id": "R1", "case_id": "C1", "requested_at": ts("2026-03-25 09:00:00")}
    put(con, "stg_recerts", [recert])
    assert warehouse_cutoff(con) == ts("2026-03-25 09:00:00")
    con.execute("update stg_recerts set completed_at = timestamp '2026-04-20 16:00:00'")
    assert resolve(con, None).cutoff == ts("2026-04-20 16:00:00")


def test_cli_as_of_after_the_cutoff_says_so_and_answers_at_the_cutoff(
    con, db_path, tmp_path, capsys
):
    world(con, cutoff="2026-03-03 20:00:00")
    con.close()
    out = tmp_path / "s.csv"
    argv = ["strikes", "--db", str(db_path), "--year", "2026", "--out", str(out)]
    assert main([*argv, "--as-of", "2026-12-01 00:00:00"]) == 0
    err = capsys.readouterr().err
    assert "晚于数据截止时间 2026-03-03 20:00:00" in err
    assert [line.split(",")[2] for line in out.read_text("utf-8").splitlines()[1:]] == ["T1", "T2"]
    assert main(argv) == 0  # default: the cut-off, nothing to say
    assert "晚于数据截止时间" not in capsys.readouterr().err
    assert len(out.read_text("utf-8").splitlines()) == 3


# ---- ZZ-DISPUTE --------------------------------------------------------------------------------


def test_a_voided_strike_renumbers_the_rest_and_lifts_the_disqualification_and_penalty(con):
    world(con)
    assert numbered(con) == [
        ("T1", 1, "sms"),
        ("T2", 2, "notify_hospital"),
        ("T3", 3, "disqualify"),
        ("T4", 4, "after_disqualified"),
    ]
    assert hospital_penalties(con, AS_OF, ZZ, year=2026).column("penalized")[0].as_py()
    record_dispute(con, "T2", "void", "推送失败，专家未收到", "张三")
    assert numbered(con) == [
        ("T1", 1, "sms"),
        ("T3", 2, "notify_hospital"),
        ("T4", 3, "disqualify"),
    ]
    dq = expert_disqualifications(con, AS_OF, ZZ)
    assert pick(dq, "expert_id", "disqualified_at") == [("E1", ts("2026-03-05 17:00:00"))]
    record_dispute(con, "T4", "撤销", "系统记录有误", "张三")
    assert numbered(con) == [("T1", 1, "sms"), ("T3", 2, "notify_hospital")]
    assert expert_disqualifications(con, AS_OF, ZZ).num_rows == 0
    row = hospital_penalties(con, AS_OF, ZZ, year=2026).to_pylist()[0]
    assert (row["experts_disqualified"], row["penalized"], row["one_more_penalized"]) == (
        0,
        False,
        True,
    )


def test_a_later_uphold_supersedes_a_void_and_both_stay_in_the_log(con):
    world(con)
    record_dispute(con, "T1", "void", "初审撤销", "张三")
    record_dispute(con, "T1", "uphold", "复议维持", "李四")
    assert numbered(con)[0] == ("T1", 1, "sms")
    kinds = con.execute("select kind from draw_log order by record_no").fetchall()
    assert kinds == [("strike_decision",), ("strike_decision",)]
    assert verify_log(con).ok


def test_voided_strike_lifts_strike_after_violation(con):
    world(
        con, more=[task("T5", pushed_at="2026-03-06 09:00:00", responded_at="2026-03-06 10:00:00")]
    )

    def rules() -> set[tuple[str, str]]:
        return {(r["rule_id"], r["task_id"]) for r in violations(con, AS_OF, ZZ).to_pylist()}

    assert (
        "ZZ-STRIKE-AFTER",
        "T5",
    ) in rules()  # pushed after the 2026-03-04 17:00 disqualification
    record_dispute(con, "T3", "void", "专家住院", "张三")  # now T4 (03-05 17:00) disqualifies
    assert ("ZZ-STRIKE-AFTER", "T5") in rules()
    record_dispute(con, "T4", "void", "专家住院", "张三")
    assert ("ZZ-STRIKE-AFTER", "T5") not in rules()


def test_an_outage_voids_strikes_pushed_or_due_inside_it_bounds_included(con):
    world(con)
    # T2 is due exactly at the outage's start (03-03 17:00); T3 is pushed exactly at its end
    record_outage(con, ts("2026-03-03 17:00:00"), ts("2026-03-04 09:00:00"), "平台升级", "张三")
    assert numbered(con) == [("T1", 1, "sms"), ("T4", 2, "notify_hospital")]
    assert verify_log(con).ok


def test_decisions_are_refused_without_reason_or_on_unknown_tasks(con):
    world(con)
    with pytest.raises(UsageError):
        record_dispute(con, "T1", "void", "  ", "张三")
    with pytest.raises(UsageError):
        record_dispute(con, "T1", "delete", "x", "张三")
    with pytest.raises(DataError):
        record_dispute(con, "T404", "void", "x", "张三")
    with pytest.raises(UsageError):
        record_outage(con, ts("2026-03-04 00:00:00"), ts("2026-03-03 00:00:00"), "x", "张三")


def test_a_tampered_decision_breaks_the_chain(con):
    world(con)
    record_dispute(con, "T1", "uphold", "维持", "张三")
    con.execute("update draw_log set parameters = replace(parameters, 'uphold', 'void')")
    assert not verify_log(con).ok


# ---- ZZ-ACTION ---------------------------------------------------------------------------------


def ledger(con, status=None) -> list[tuple]:
    return pick(action_ledger(con, AS_OF, ZZ, status), "task_id", "action", "status", "done_by")


def test_the_ledger_states_pending_done_and_voided(con):
    world(con)
    # after_disqualified (T4) is no action item
    assert ledger(con) == [
        ("T1", "sms", "pending", None),
        ("T2", "notify_hospital", "pending", None),
        ("T3", "disqualify", "pending", None),
    ]
    record_action_done(con, "T1", "sms", "王五", "短信平台已发送", ZZ)
    record_dispute(con, "T2", "void", "推送失败", "张三")
    # T2 keeps the number and action it had before the decision; T3 and T4 move up
    assert ledger(con) == [
        ("T1", "sms", "done", "王五"),
        ("T2", "notify_hospital", "voided", None),
        ("T3", "notify_hospital", "pending", None),
        ("T4", "disqualify", "pending", None),
    ]
    assert ledger(con, "pending") == [
        ("T3", "notify_hospital", "pending", None),
        ("T4", "disqualify", "pending", None),
    ]
    with pytest.raises(DataError):  # T3's action is now notify_hospital, not disqualify
        record_action_done(con, "T3", "disqualify", "王五", "已发文", ZZ)
    with pytest.raises(DataError):
        record_action_done(con, "T2", "notify_hospital", "王五", "已通报", ZZ)
    assert verify_log(con).ok


def test_cli_dispute_outage_actions_and_action_done(con, db_path, tmp_path, capsys):
    world(con)
    con.close()
    db = ["--db", str(db_path)]
    assert (
        main(
            [
                "dispute",
                *db,
                "--task",
                "T2",
                "--decision",
                "void",
                "--reason",
                "推送失败",
                "--by",
                "张三",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip().startswith("SD-")
    assert (
        main(
            [
                "outage",
                *db,
                "--from",
                "2026-03-05 16:00",
                "--to",
                "2026-03-05 18:00",
                "--reason",
                "宕机",
                "--by",
                "张三",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip().startswith("OG-")
    assert (
        main(
            [
                "action-done",
                *db,
                "--task",
                "T1",
                "--action",
                "sms",
                "--by",
                "王五",
                "--note",
                "已发送",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip().startswith("AD-")
    out = tmp_path / "a.csv"
    assert main(["actions", *db, "--as-of", "2027-01-01 00:00:00", "--out", str(out)]) == 0
    lines = out.read_text("utf-8").splitlines()
    assert lines[0] == "expert_id,strike_no,task_id,action,status,done_at,done_by"
    rows = [line.split(",") for line in lines[1:]]
    assert [(r[2], r[1], r[3], r[4], r[6]) for r in rows] == [
        ("T1", "1", "sms", "done", "王五"),
        ("T2", "2", "notify_hospital", "voided", ""),
        ("T3", "2", "notify_hospital", "pending", ""),
    ]  # T4 (voided by the outage) was the 4th: after_disqualified, no action item
    assert main(["actions", *db, "--status", "pending", "--out", str(out)]) == 0
    assert len(out.read_text("utf-8").splitlines()) == 2
    assert (
        main(["action-done", *db, "--task", "T3", "--action", "sms", "--by", "王五", "--note", "x"])
        == 1
    )
    assert main(["verify-log", *db]) == 0


def test_a_decision_makes_the_marts_stale(con):
    from pipelines.rules import refresh_marts
    from pipelines.rules.engine import fresh_marts

    world(con)
    refresh_marts(con, AS_OF, ZZ)
    assert "fct_strikes" in fresh_marts(con, ZZ, AS_OF)
    record_dispute(con, "T1", "void", "x", "张三")
    assert fresh_marts(con, ZZ, AS_OF) == set()
    assert [r[0] for r in numbered(con)] == ["T2", "T3", "T4"]


# ---- evidence ----------------------------------------------------------------------------------


def test_evidence_lists_voided_strikes_with_their_decision(con, db_path, tmp_path, capsys):
    world(con)
    record_dispute(con, "T2", "void", "推送失败", "张三")
    record_dispute(con, "T1", "uphold", "复核属实", "李四")
    con.close()
    out = tmp_path / "e.csv"
    argv = ["evidence", "--db", str(db_path), "--expert", "E1", "--year", "2026"]
    assert main([*argv, "--as-of", "2027-01-01 00:00:00", "--out", str(out)]) == 0
    lines = out.read_text("utf-8").splitlines()
    assert lines[0] == (
        "strike_no,task_id,case_id,kind,pushed_at,responded_at,completed_at,deadline,action,status"
    )
    assert lines[1:] == [
        "1,T1,C1,accept_timeout,2026-03-02 09:00:00,,,2026-03-02 17:00:00,sms,upheld",
        "2,T2,C1,accept_timeout,2026-03-03 09:00:00,,,2026-03-03 17:00:00,notify_hospital,voided",
        "2,T3,C1,accept_timeout,2026-03-04 09:00:00,,,2026-03-04 17:00:00,notify_hospital,valid",
        "3,T4,C1,accept_timeout,2026-03-05 09:00:00,,,2026-03-05 17:00:00,disqualify,valid",
    ]


def test_the_year_end_evidence_book_takes_a_hospital_to_its_strikes(con, db_path, tmp_path, capsys):
    from openpyxl import load_workbook

    world(con)
    record_dispute(con, "T2", "void", "推送失败", "张三")
    con.close()
    out = tmp_path / "book.xlsx"
    argv = ["evidence-book", "--db", str(db_path), "--year", "2026", "--as-of", "2027-01-01"]
    assert main([*argv, "--out", str(out)]) == 0
    wb = load_workbook(out)
    assert wb.sheetnames == ["扣分医院", "取消资格专家", "违规依据"]
    rows = {n: [[c.value for c in r] for r in wb[n].iter_rows(min_row=2)] for n in wb.sheetnames}
    assert rows["扣分医院"][1][:5] == ["H1", "医院H1", None, 2, 1]
    assert rows["取消资格专家"][1][:2] == ["H1", "E1"]
    strikes_ = rows["违规依据"][1:]
    assert [(r[3], r[2], r[12]) for r in strikes_] == [
        ("T1", 1, "有效"),
        ("T2", 2, "已撤销"),
        ("T3", 2, "有效"),
        ("T4", 3, "有效"),
    ]
    assert strikes_[1][13] == "推送失败"
    ws = wb["违规依据"]
    assert "2026 年" in ws.cell(1, 1).value  # the title row above the header
    assert ws.page_setup.orientation == "landscape"
    assert ws.print_title_rows == "$2:$2"  # the header repeated on every printed page


def test_cli_actions_rows_are_sorted_by_expert_strike_no_and_task(con, db_path, tmp_path):
    """CONTRACT: rows sorted by the first columns listed (expert_id, strike_no, task_id), across
    years: each year's first strike is strike 1."""
    load(
        con,
        experts=[expert("E1"), expert("E2")],
        tasks=[
            task("TB", pushed_at="2025-12-01 09:00:00"),
            task("TC", pushed_at="2025-12-02 09:00:00"),
            task("TA", pushed_at="2026-03-02 09:00:00"),
        ],
    )
    con.close()
    out = tmp_path / "a.csv"
    assert main(["actions", "--db", str(db_path), "--as-of", "2027-01-01", "--out", str(out)]) == 0
    rows = [line.split(",")[:4] for line in out.read_text("utf-8").splitlines()[1:]]
    assert rows == [
        ["E1", "1", "TA", "sms"],
        ["E1", "1", "TB", "sms"],
        ["E1", "2", "TC", "notify_hospital"],
    ]
