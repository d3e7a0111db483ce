"""The rule verbs of `python -m pipelines`: output files byte for byte, exit statuses, messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_rules_support import case, expert, hospital, load, task

import pipelines.cli as pipelines_cli
from pipelines.config import ROOT
from pipelines.db import connect

AS_OF = "2026-12-01 00:00:00"


@pytest.fixture
def main():
    """pipelines.cli.main, in process."""
    return pipelines_cli.main


@pytest.fixture
def warehouse(db_path: Path) -> Path:
    """A closed warehouse file: two hospitals, three experts, three cases, five tasks."""
    con = connect(db_path)
    done = {"response": "受理", "verdict": "符合"}
    load(
        con,
        hospitals=[hospital("H1"), hospital("H2", ownership="民营")],
        experts=[expert("E1"), expert("E2"), expert("E3", hospital_id="H2", title="主治医师")],
        cases=[
            case(
                "C1", outcome="符合", decided_at="2026-03-10 10:00:00", benefit_start="2026-04-01"
            ),
            case("C2"),
            case("C3", submitted_at="2026-03-06 08:00:00"),
        ],
        tasks=[
            task(
                "T1",
                case_id="C1",
                expert_id="E1",
                responded_at="2026-03-02 10:00:00",
                completed_at="2026-03-03 15:00:00",
                **done,
            ),
            task(
                "T2",
                case_id="C1",
                expert_id="E2",
                responded_at="2026-03-02 17:00:01",
                completed_at="2026-03-04 15:00:00",
                **done,
            ),
            task(
                "T3",
                case_id="C2",
                expert_id="E2",
                responded_at="2026-03-02 10:00:00",
                response="受理",
            ),
            task("T4", case_id="C2", expert_id="E1", pushed_at="2026-03-03 09:00:00"),
            task("T5", case_id="C3", expert_id="E2", pushed_at="2026-03-06 09:00:00"),
        ],
    )
    con.close()
    return db_path


def run(main, capsys, *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().err


def test_strikes_csv(main, capsys, warehouse, tmp_path):
    out = tmp_path / "strikes.csv"
    status, err = run(
        main,
        capsys,
        "strikes",
        "--db",
        str(warehouse),
        "--year",
        "2026",
        "--as-of",
        AS_OF,
        "--out",
        str(out),
    )
    assert status == 0, err
    assert out.read_bytes().decode("utf-8") == (
        "expert_id,strike_no,task_id,case_id,kind,deadline,action\n"
        "E1,1,T4,C2,accept_timeout,2026-03-03 17:00:00,sms\n"
        "E2,1,T2,C1,accept_timeout,2026-03-02 17:00:00,sms\n"
        "E2,2,T3,C2,complete_timeout,2026-03-05 00:00:00,notify_hospital\n"
        "E2,3,T5,C3,accept_timeout,2026-03-06 17:00:00,disqualify\n"
    )
    assert err.count("\n") == 1 and "2026 年超时违规 4 次" in err


def test_strikes_of_a_year_without_strikes_is_a_header(main, capsys, warehouse, tmp_path):
    out = tmp_path / "strikes.csv"
    status, _ = run(
        main,
        capsys,
        "strikes",
        "--db",
        str(warehouse),
        "--year",
        "2025",
        "--as-of",
        AS_OF,
        "--out",
        str(out),
    )
    assert status == 0
    assert out.read_text(encoding="utf-8") == (
        "expert_id,strike_no,task_id,case_id,kind,deadline,action\n"
    )


def test_penalties_csv(main, capsys, warehouse, tmp_path):
    out = tmp_path / "penalties.csv"
    status, err = run(
        main,
        capsys,
        "penalties",
        "--db",
        str(warehouse),
        "--year",
        "2026",
        "--as-of",
        AS_OF,
        "--out",
        str(out),
    )
    assert status == 0, err
    assert out.read_text(encoding="utf-8") == (
        "hospital_id,experts_total,experts_disqualified,ratio,penalized,one_more_penalized\n"
        "H1,2,1,0.5000,true,false\n"
        "H2,1,0,0.0000,false,true\n"
    )


def test_violations_csv(main, capsys, warehouse, tmp_path):
    out = tmp_path / "violations.csv"
    status, err = run(
        main, capsys, "violations", "--db", str(warehouse), "--as-of", AS_OF, "--out", str(out)
    )
    assert status == 0, err
    assert out.read_text(encoding="utf-8") == (
        "rule_id,case_id,task_id,expert_id,hospital_id,detail\n"
        "ZZ-ACCEPT,C1,T2,E2,H1,专家E2未在推送后8小时内响应：推送于2026-03-02 09:00:00，"
        "时限2026-03-02 17:00:00，于2026-03-02 17:00:01受理，超时00:00:01。\n"
        "ZZ-ACCEPT,C2,T4,E1,H1,专家E1未在推送后8小时内响应：推送于2026-03-03 09:00:00，"
        "时限2026-03-03 17:00:00，截至核查时间仍未响应。\n"
        "ZZ-ACCEPT,C3,T5,E2,H1,专家E2未在推送后8小时内响应：推送于2026-03-06 09:00:00，"
        "时限2026-03-06 17:00:00，截至核查时间仍未响应。\n"
        "ZZ-COMPLETE,C2,T3,E2,H1,专家E2于2026-03-02 10:00:00受理后未在2个工作日内完成鉴定："
        "时限2026-03-05 00:00:00，截至核查时间仍未完成。\n"
        "ZZ-EXPERT-QUAL,,,E3,H2,在库专家E3不符合资格要求：职称为主治医师（须为副主任医师或主任医师）"
        "；所在医院医院H2为民营三类医院（须为公立二类或三类定点医院）。\n"
    )
    assert "违规 5 条" in err


def test_fees_csv(main, capsys, warehouse, tmp_path):
    out = tmp_path / "fees.csv"
    status, err = run(
        main, capsys, "fees", "--db", str(warehouse), "--month", "2026-03", "--out", str(out)
    )
    assert status == 0, err
    assert out.read_text(encoding="utf-8") == ("expert_id,reviews,amount_yuan\nE1,1,10\nE2,1,10\n")
    assert "合计 20 元" in err


def test_at_risk_and_archive_csv(main, capsys, warehouse, tmp_path):
    risk, archive = tmp_path / "risk.csv", tmp_path / "archive.csv"
    status, err = run(
        main,
        capsys,
        "at-risk",
        "--db",
        str(warehouse),
        "--as-of",
        "2026-03-06 13:30:00",
        "--out",
        str(risk),
    )
    assert status == 0, err
    assert risk.read_text(encoding="utf-8") == (
        "deadline,hours_left,kind,task_id,case_id,expert_id,expert_name,hospital_id,hospital_name,"
        "status,phone\n"
        "2026-03-06 17:00:00,3.5,accept,T5,C3,E2,,H1,医院H1,at_risk,\n"
    )
    status, err = run(
        main, capsys, "archive", "--db", str(warehouse), "--month", "2026-03", "--out", str(archive)
    )
    assert status == 0, err
    assert archive.read_text(encoding="utf-8") == (
        "month,disease_name,specialty,settlement,outcome,cases\n"
        "2026-03,糖尿病（合并严重并发症）,内分泌科,集中办结,符合,1\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["strikes", "--year", "26", "--as-of", AS_OF],
        ["penalties", "--year", "year", "--as-of", AS_OF],
        ["fees", "--month", "2026-13"],
        ["archive", "--month", "202603"],
        ["violations", "--as-of", "yesterday"],
    ],
)
def test_wrong_usage_exits_2_and_writes_nothing(main, capsys, warehouse, tmp_path, argv):
    out = tmp_path / "out.csv"
    status, err = run(main, capsys, *argv, "--db", str(warehouse), "--out", str(out))
    assert status == 2
    assert "错误 (usage)" in err
    assert not out.exists()


def test_missing_database_exits_1_and_creates_nothing(main, capsys, tmp_path):
    db = tmp_path / "none.duckdb"
    status, err = run(
        main,
        capsys,
        "fees",
        "--db",
        str(db),
        "--month",
        "2026-03",
        "--out",
        str(tmp_path / "fees.csv"),
    )
    assert status == 1
    assert "数据库文件不存在" in err
    assert not db.exists()


def test_calendar_gap_exits_1_naming_the_year(main, capsys, db_path, tmp_path):
    con = connect(db_path)
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
    con.close()
    out = tmp_path / "strikes.csv"
    status, err = run(
        main,
        capsys,
        "strikes",
        "--db",
        str(db_path),
        "--year",
        "2027",
        "--as-of",
        "2027-02-01 00:00:00",
        "--out",
        str(out),
    )
    assert status == 1
    assert "2027" in err
    assert not out.exists()


def test_python_m_pipelines_end_to_end(warehouse, tmp_path):
    out = tmp_path / "fees.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "fees",
            "--db",
            str(warehouse),
            "--month",
            "2026-03",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8") == "expert_id,reviews,amount_yuan\nE1,1,10\nE2,1,10\n"
    assert "鉴定费" in proc.stderr
