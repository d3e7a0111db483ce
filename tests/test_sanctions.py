"""TY-PENALTY sanctions: recorded append-only in the hash-chained log, listed with in_force."""

from __future__ import annotations

import datetime as dt

import pytest
from test_rules_support import load

from pipelines.cli import main
from pipelines.draws.verify import verify_log
from pipelines.errors import UsageError
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
