"""TY-REVIEW finished: review findings, appeal panels' majority, per-hospital and public results."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from test_draw_review import AS_OF, SEED, TY, review_world

from pipelines.cli import main
from pipelines.decisions import record_decision
from pipelines.draws import (
    appeal_panel,
    import_findings,
    log,
    parse_quarter,
    review_plan,
    verify_log,
)
from pipelines.draws.appraise import appraise
from pipelines.draws.review_results import record_appeal_finding, review_results
from pipelines.errors import UsageError

APPEAL_AT = dt.datetime(2026, 7, 22, 9)


def reviewed(con, tmp_path):
    """The 2026Q3 review with findings: H1 2×符合; H2 不符合 ¥500, 符合, one not yet; H3 不符合 ¥300."""
    review_world(con)
    con.execute("update stg_experts set expert_name = '专家' || expert_id")
    plan = review_plan(con, parse_quarter("2026Q3"), SEED, AS_OF, TY)
    picks = {}
    for p in plan.cases.picks:
        picks.setdefault(p.hospital_id, []).append(p.id)
    assert {h: len(v) for h, v in picks.items()} == {"H1": 2, "H2": 3, "H3": 1, "H4": 1}
    lines = ["申报编号,复核结论,追回金额,备注"]
    lines += [f"{c},符合,," for c in picks["H1"]]
    lines += [f"{picks['H2'][0]},不符合,500,", f"{picks['H2'][1]},符合,,", f"{picks['H2'][2]},,,"]
    lines += [f"{picks['H3'][0]},不符合,300,"]
    path = tmp_path / "复核结论.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert import_findings(con, plan.cases.draw_id, path).recorded == 5
    return plan.cases.draw_id, picks


def appeal(con, case_id: str, opinions: list[str]):
    panel = appeal_panel(con, case_id, "2718", APPEAL_AT, TY)
    members = [p.id for p in panel.picks]
    return panel, record_appeal_finding(
        con, panel.draw_id, dict(zip(members, opinions, strict=True)), "二次复核", "张三"
    )


def test_appeal_majority_decides_and_results_per_hospital(con, tmp_path):
    draw_id, picks = reviewed(con, tmp_path)
    _, upheld = appeal(con, picks["H2"][0], ["符合", "不符合", "符合"])
    _, kept = appeal(con, picks["H3"][0], ["符合", "不符合", "不符合"])
    assert upheld.params()["final"] == "符合" and kept.params()["final"] == "不符合"
    rows = review_results(con, draw_id)
    got = rows[["hospital_id", "cases_drawn", "cases_reviewed", "cases_passed", "cases_failed",
                "appeals", "appeals_upheld"]].values.tolist()  # fmt: skip
    assert got == [
        ["H1", 2, 2, 2, 0, 0, 0],
        ["H2", 3, 2, 2, 0, 1, 1],  # the 不符合 turned 符合 on appeal
        ["H3", 1, 1, 0, 1, 1, 0],
        ["H4", 1, 0, 0, 0, 0, 0],  # drawn, not reviewed yet
    ]
    assert rows["pass_rate"].tolist()[:3] == [1.0, 1.0, 0.0] and rows["pass_rate"].isna().iloc[3]
    assert [float(y) for y in rows["recover_yuan"]] == [0.0, 0.0, 300.0, 0.0]
    assert verify_log(con).ok


def test_appeal_opinions_must_be_the_panels_and_verify_rederives_the_majority(con, tmp_path):
    draw_id, picks = reviewed(con, tmp_path)
    panel = appeal_panel(con, picks["H3"][0], "2718", APPEAL_AT, TY)
    members = [p.id for p in panel.picks]
    with pytest.raises(UsageError, match="缺少"):
        record_appeal_finding(con, panel.draw_id, {members[0]: "符合"}, "x", "张三")
    with pytest.raises(UsageError, match="不是申诉"):
        record_appeal_finding(con, draw_id, {}, "x", "张三")
    assert verify_log(con).ok
    forged = {"case_id": picks["H3"][0], "panel_id": panel.draw_id, "final": "符合",
              "opinions": [[m, "不符合"] for m in members]}  # fmt: skip
    record_decision(con, "appeal_finding", forged, "张三", "x", None)
    check = verify_log(con)
    assert not check.ok


def _pdf_text(path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")
def test_published_results_hold_no_names_nor_ids(con, db_path, tmp_path):
    draw_id, picks = reviewed(con, tmp_path)
    appeal(con, picks["H2"][0], ["符合", "符合", "不符合"])
    secrets = [v for r in con.execute("select person_name, person_id from stg_cases").fetchall()
               for v in r] + [r[0] for r in con.execute("select expert_name from stg_experts").fetchall()]  # fmt: skip
    con.close()
    xlsx, pdf = tmp_path / "公示.xlsx", tmp_path / "公示.pdf"
    for out in (xlsx, pdf):
        assert (
            main(["review-results", "--db", str(db_path), "--draw", draw_id, "--out", str(out)])
            == 0
        )
    wb = load_workbook(xlsx, read_only=True)
    cells = [
        str(c) for row in wb.worksheets[0].iter_rows(values_only=True) for c in row if c is not None
    ]
    sheet, text = "\n".join(cells), _pdf_text(pdf)
    h3 = cells[cells.index("H3") + 1 :][:8]
    assert h3 == ["医院H3", "1", "0", "1", "0.0%", "0", "0", "300.00"]
    for published in (sheet, text):
        assert "医院H2" in published and "2026Q3 季度复核结果公示" in published
        assert [s for s in secrets if s in published] == []


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")
def test_taiyuan_monthly_report_shows_the_latest_review_per_hospital(con, db_path, tmp_path):
    """The report of the month the 2026Q3 review was drawn in lists each hospital's results —
    H2's 不符合 turned 符合 on appeal, H4's pick not reviewed yet — without any name of a person.
    (A draw is stamped with the clock when it is made; the report looks at the draws made in its
    12 months up to the evaluation time.)"""
    draw_id, picks = reviewed(con, tmp_path)
    appeal(con, picks["H2"][0], ["符合", "不符合", "符合"])
    secrets = [r[0] for r in con.execute("select person_name from stg_cases").fetchall()]
    made = log.get_record(con, draw_id).created_at
    con.close()
    pdf = tmp_path / "月报.pdf"
    argv = ["report", "--profile", "taiyuan", "--db", str(db_path), "--month", f"{made:%Y-%m}"]
    at = made + dt.timedelta(hours=1)
    assert main([*argv, "--as-of", f"{at:%Y-%m-%d %H:%M:%S}", "--out", str(pdf)]) == 0
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True)
    lines = [" ".join(line.split()) for line in text.stdout.decode("utf-8").splitlines()]
    assert any(line.startswith("四、季度复核结果") for line in lines)
    assert any(draw_id in line and "2026Q3" in line for line in lines)
    rows = [line for line in lines if line.startswith("医院H")]
    assert rows == [
        "医院H1 2 2 2 0 100.0% 0 0.00",
        "医院H2 3 2 2 0 100.0% 1 0.00",
        "医院H3 1 1 0 1 0.0% 0 300.00",
        "医院H4 1 0 0 0 — 0 0.00",
    ]
    assert [s for s in secrets if s and s in "\n".join(lines)] == []


def test_a_taiyuan_report_without_a_review_says_so(con, db_path, tmp_path):
    review_world(con)
    con.close()
    pdf = tmp_path / "月报.pdf"
    argv = ["report", "--profile", "taiyuan", "--db", str(db_path), "--month", "2026-07"]
    assert main([*argv, "--as-of", "2026-07-31 18:00:00", "--out", str(pdf)]) == 0
    text = _pdf_text(pdf)
    assert "近12个月无季度复核病例抽取记录。" in text


def test_appraise_of_a_review_takes_the_appeal_panels_final_finding(con, tmp_path):
    """H2's 不符合 (¥500) turned 符合 on appeal: no improper case and nothing found at H2; H3's
    不符合 kept on appeal stays improper with its ¥300 — as the published results say."""
    draw_id, picks = reviewed(con, tmp_path)
    appeal(con, picks["H2"][0], ["符合", "不符合", "符合"])
    appeal(con, picks["H3"][0], ["符合", "不符合", "不符合"])
    a = appraise(con, draw_id)
    by = {s.hospital_id: (s.checked_n, s.improper_n, s.sum_fen) for s in a.strata}
    assert by["H2"] == (2, 0, 0) and by["H3"] == (1, 1, 30000) and by["H1"] == (2, 0, 0)
    assert (a.total.improper_n, a.total.found_yuan) == (1, 300)


def test_an_appeal_finding_needs_a_failed_review_finding(con, tmp_path):
    """Only a 不符合 review finding can be appealed: H1's cases were found 符合, H4's pick has no
    finding yet — their panels' opinions are refused and nothing is recorded."""
    draw_id, picks = reviewed(con, tmp_path)
    for case in (picks["H1"][0], picks["H4"][0]):
        panel = appeal_panel(con, case, "2718", APPEAL_AT, TY)
        opinions = dict.fromkeys((p.id for p in panel.picks), "符合")
        with pytest.raises(UsageError, match="没有“不符合”的季度复核结论"):
            record_appeal_finding(con, panel.draw_id, opinions, "二次复核", "张三")
    assert con.execute("select count(*) from appeal_findings_latest").fetchone()[0] == 0
