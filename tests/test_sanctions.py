"""TY-PENALTY sanctions: recorded append-only in the hash-chained log, listed with in_force."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import put
from test_rules_support import TY, ZZ, case, expert, hospital, load, ts

from pipelines.cli import main
from pipelines.draws.verify import verify_log
from pipelines.errors import UsageError
from pipelines.rules import violations
from pipelines.rules.marts import refresh_marts
from pipelines.sanctions import add_months, record_sanction, sanction_rows, suspension_end

D = dt.date


def test_suspension_lengths_from_the_profile_and_month_ends():
    assert suspension_end(D(2026, 1, 15), serious=False) == D(2026, 7, 14)  # 6 months
    assert suspension_end(D(2026, 1, 15), serious=True) == D(2031, 1, 14)  # 5 years
    assert add_months(D(2026, 8, 31), 6) == D(2027, 2, 28)
    assert suspension_end(D(2026, 8, 31), serious=False) == D(2027, 2, 27)


def test_recorded_sanctions_and_what_is_in_force(con):
    load(con)
    a = record_sanction(con, "doctor", "D1", "暂停医保处方权", D(2026, 1, 15), None, "违规", "张三")
    record_sanction(
        con, "hospital", "H1", "暂停认定资格", D(2026, 3, 1), D(2026, 3, 31), "x", "张三"
    )
    record_sanction(
        con, "person", "P1", "停止待遇并追回", D(2026, 2, 1), None, "x", "张三", amount="1200"
    )
    rows = {r["subject_id"]: r for r in sanction_rows(con, D(2026, 7, 1))}
    assert rows["D1"]["valid_to"] == D(2026, 7, 14) and rows["D1"]["in_force"]
    assert rows["D1"]["ending_soon"]  # 13 days left
    assert not rows["H1"]["in_force"]  # ended 31 March
    assert rows["P1"]["in_force"] and rows["P1"]["amount_yuan"] == "1200.00"
    on_last_day = {r["subject_id"]: r["in_force"] for r in sanction_rows(con, D(2026, 7, 14))}
    day_after = {r["subject_id"]: r["in_force"] for r in sanction_rows(con, D(2026, 7, 15))}
    assert on_last_day["D1"] and not day_after["D1"]
    assert a.draw_id.startswith("SN-") and verify_log(con).ok


@pytest.mark.parametrize(
    ("subject", "measure", "end", "amount", "serious"),
    [
        ("doctor", "取消认定资格", None, None, False),  # a hospital's measure
        ("hospital", "暂停认定资格", None, None, False),  # a suspension needs its end
        ("hospital", "追回基金", None, None, False),  # a recovery needs its amount
        ("hospital", "取消认定资格", None, None, True),  # serious is for 处方权 only
        ("hospital", "暂停认定资格", D(2025, 12, 31), None, False),  # ends before it starts
    ],
)
def test_sanctions_that_the_notice_does_not_allow_are_refused(
    con, subject, measure, end, amount, serious
):
    load(con)
    with pytest.raises(UsageError):
        record_sanction(con, subject, "X", measure, D(2026, 1, 1), end, "x", "张三",
                        serious=serious, amount=amount)  # fmt: skip


def test_a_tampered_sanction_breaks_the_chain(con):
    load(con)
    record_sanction(con, "hospital", "H1", "追回基金", D(2026, 1, 1), None, "x", "张三", amount="5")
    con.execute("update draw_log set parameters = replace(parameters, '5.00', '0.00')")
    assert not verify_log(con).ok


def test_cli_sanction_and_sanctions(con, db_path, tmp_path, capsys):
    load(con)
    con.close()
    db = ["--db", str(db_path)]
    argv = ["sanction", *db, "--subject-type", "doctor", "--subject", "D1", "--measure",
            "暂停医保处方权", "--from", "2026-01-15", "--serious", "--reason", "严重违规", "--by", "张三"]  # fmt: skip
    assert main(argv) == 0
    sid = capsys.readouterr().out.strip()
    assert sid.startswith("SN-")
    out = tmp_path / "s.csv"
    assert main(["sanctions", *db, "--as-of", "2026-06-01", "--out", str(out)]) == 0
    assert out.read_text("utf-8").splitlines() == [
        "sanction_id,subject_type,subject_id,measure,valid_from,valid_to,amount_yuan,in_force",
        f"{sid},doctor,D1,暂停医保处方权,2026-01-15,2031-01-14,,true",
    ]
    bad = ["sanction", *db, "--subject-type", "person", "--subject", "P1", "--measure", "追回基金",
           "--from", "2026-01-01", "--reason", "x", "--by", "张三"]  # fmt: skip
    assert main(bad) == 2


def _penalty_rows(con, profile, as_of="2027-06-01 00:00:00") -> list[tuple]:
    rows = violations(con, ts(as_of), profile).to_pylist()
    return [(r["case_id"], r["hospital_id"], r["detail"]) for r in rows
            if r["rule_id"] == "TY-PENALTY"]  # fmt: skip


def test_cases_certified_while_the_hospital_is_suspended_or_revoked(con):
    decided = [
        ("C1", "H1", "2026-02-28 23:59:00"),  # the day before the suspension
        ("C2", "H1", "2026-03-01 08:00:00"),  # its first day
        ("C3", "H1", "2026-03-31 17:00:00"),  # valid_to: the last day in force
        ("C4", "H1", "2026-04-01 08:00:00"),  # the day after
        ("C5", "H2", "2026-05-09 17:00:00"),  # the day before the revocation
        ("C6", "H2", "2026-05-10 09:00:00"),  # revoked from 10 May on, with no end
        ("C7", "H2", "2027-01-04 09:00:00"),
    ]
    load(
        con,
        hospitals=[hospital("H1"), hospital("H2")],
        cases=[case(c, hospital_id=h, outcome="符合", decided_at=t) for c, h, t in decided],
    )
    s1 = record_sanction(
        con, "hospital", "H1", "暂停认定资格", D(2026, 3, 1), D(2026, 3, 31), "x", "张三"
    )
    s2 = record_sanction(con, "hospital", "H2", "取消认定资格", D(2026, 5, 10), None, "x", "张三")
    record_sanction(con, "hospital", "H2", "追回基金", D(2026, 1, 1), None, "x", "张三", amount="9")
    assert _penalty_rows(con, TY) == [
        ("C2", "H1", f"于2026-03-01办结认定，此时该院暂停认定资格（2026-03-01至2026-03-31，处理决定 {s1.draw_id}）。"),
        ("C3", "H1", f"于2026-03-31办结认定，此时该院暂停认定资格（2026-03-01至2026-03-31，处理决定 {s1.draw_id}）。"),
        ("C6", "H2", f"于2026-05-10办结认定，此时该院取消认定资格（2026-05-10起，处理决定 {s2.draw_id}）。"),
        ("C7", "H2", f"于2027-01-04办结认定，此时该院取消认定资格（2026-05-10起，处理决定 {s2.draw_id}）。"),
    ]  # fmt: skip
    assert _penalty_rows(con, ZZ) == []
    # a decision not yet known at the evaluation time is no breach yet
    assert [r[0] for r in _penalty_rows(con, TY, "2026-12-31 00:00:00")] == ["C2", "C3", "C6"]


def test_a_sanction_recorded_after_the_marts_were_built_shows_at_once(con):
    load(con, cases=[case("C1", outcome="符合", decided_at="2026-03-02 10:00:00")])
    as_of = ts("2026-06-01 00:00:00")
    refresh_marts(con, as_of, TY)
    assert _penalty_rows(con, TY, "2026-06-01 00:00:00") == []
    record_sanction(con, "hospital", "H1", "取消认定资格", D(2026, 3, 2), None, "x", "张三")
    assert [r[0] for r in _penalty_rows(con, TY, "2026-06-01 00:00:00")] == ["C1"]


def test_panel_opinions_signed_while_the_doctors_prescribing_is_suspended(con):
    load(
        con,
        cases=[
            case(c, outcome="符合", decided_at="2026-09-01 10:00:00") for c in ("C1", "C2", "C3")
        ],
    )
    # suspended from 2026-03-01 for 6 months: the last day in force is 2026-08-31
    s = record_sanction(con, "doctor", "E1", "暂停医保处方权", D(2026, 3, 1), None, "x", "张三")
    signed = [("C1", "E1", "2026-02-28 17:00:00"), ("C2", "E1", "2026-08-31 17:00:00"),
              ("C3", "E1", "2026-09-01 08:00:00"), ("C3", "E2", "2026-08-31 17:00:00")]  # fmt: skip
    put(con, "stg_panel_opinions", [{"case_id": c, "expert_id": e, "opinion": "符合",
                                     "signed_at": ts(t)} for c, e, t in signed])  # fmt: skip
    rows = violations(con, ts("2027-06-01 00:00:00"), TY).to_pylist()
    assert [(r["case_id"], r["expert_id"], r["detail"]) for r in rows if r["rule_id"] == "TY-PENALTY"] == [
        ("C2", "E1", f"于2026-08-31签署认定专家组意见，此时其暂停医保处方权（2026-03-01至2026-08-31，处理决定 {s.draw_id}）。"),
    ]  # fmt: skip


def test_ending_within_30_days_and_a_districts_sanctions(con):
    load(
        con,
        hospitals=[hospital("H1", district="小店区"), hospital("H2", district="迎泽区")],
        experts=[expert("E1", hospital_id="H2")],
        cases=[case("C1", hospital_id="H2", person_id="140105199001011234")],
    )
    for subject, end in (("H1", D(2026, 7, 31)), ("H2", D(2026, 8, 1))):
        record_sanction(con, "hospital", subject, "暂停认定资格", D(2026, 7, 1), end, "x", "张三")
    record_sanction(con, "doctor", "E1", "暂停医保处方权", D(2026, 7, 1), None, "违规", "李四")
    record_sanction(con, "person", "140105199001011234", "停止待遇并追回", D(2026, 7, 1), None,
                    "x", "张三", amount="10")  # fmt: skip
    rows = sanction_rows(con, D(2026, 7, 1))
    # 1 July + 30 days = 31 July: the suspension ending that day ends within 30 days, 1 August not
    assert [(r["subject_id"], r["ending_soon"]) for r in rows][:2] == [("H1", True), ("H2", False)]
    assert (rows[2]["decided_by"], rows[2]["reason"]) == ("李四", "违规")
    yingze = [r["subject_id"] for r in sanction_rows(con, D(2026, 7, 1), district="迎泽区")]
    assert yingze == ["H2", "E1", "140105199001011234"]
    assert [r["subject_id"] for r in sanction_rows(con, D(2026, 7, 1), district="小店区")] == ["H1"]


def test_cli_lists_those_in_force_and_those_ending_within_30_days(con, db_path, tmp_path):
    load(con)
    ends = {"H1": D(2026, 7, 31), "H2": D(2026, 8, 1), "H3": D(2026, 6, 30)}
    for subject, end in ends.items():
        record_sanction(con, "hospital", subject, "暂停认定资格", D(2026, 6, 1), end, "x", "张三")
    con.close()
    out = tmp_path / "s.csv"

    def listed(*only: str) -> list[str]:
        argv = ["sanctions", "--db", str(db_path), "--as-of", "2026-07-01", "--out", str(out)]
        assert main([*argv, *only]) == 0
        return [line.split(",")[2] for line in out.read_text("utf-8").splitlines()[1:]]

    assert listed() == ["H1", "H2", "H3"]
    assert listed("--only", "in-force") == ["H1", "H2"]  # H3 ended on 30 June
    assert listed("--only", "ending") == ["H1"]  # 31 July is 1 July + 30 days; 1 August is not
