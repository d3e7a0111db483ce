"""Taiyuan's monthly numbers (mart_ty_monthly_kpis): rows in → rows out, hand-computed."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
from pathlib import Path

import pytest
from conftest import put
from test_report import ARTIFACTS, this_month
from test_rules_support import TY, ZZ, ts
from test_ty_marts import AS_OF, taiyuan_world

from dashboard.common import pct
from dashboard.ty_home import CARD_CHARS
from pipelines.cli import main
from pipelines.db import connect
from pipelines.report import ty_labels
from pipelines.rules.marts import refresh_marts
from pipelines.sanctions import record_sanction

from apptest_util import metrics, open_page

D = dt.date
STAMP = f"{AS_OF:%Y-%m-%d %H:%M:%S}"


def sanctioned_world(con) -> None:
    """taiyuan_world and three sanctions: H1's 认定资格 suspended 20 April – 10 May, its doctor
    E2's 处方权 from 20 May to 19 August, the insured P1's benefit stopped from 1 May."""
    taiyuan_world(con)
    record_sanction(
        con, "hospital", "H1", "暂停认定资格", D(2026, 4, 20), D(2026, 5, 10), "违规", "张三"
    )
    record_sanction(
        con, "doctor", "E2", "暂停医保处方权", D(2026, 5, 20), D(2026, 8, 19), "违规", "张三"
    )
    record_sanction(
        con, "person", "P1", "停止待遇并追回", D(2026, 5, 1), None, "骗保", "张三", amount="1200"
    )


def test_monthly_kpis_rows(con):
    sanctioned_world(con)
    refresh_marts(con, AS_OF, TY)
    rows = con.execute(
        "select month, hospital_id, specialty, metric, value from mart_ty_monthly_kpis "
        "order by month, hospital_id nulls first, specialty nulls first, metric"
    ).fetchall()
    m3 = [
        # C1 and C2 submitted 2 March, both 定额 and certified, both entered (due); C1 entered
        # 15 April, after the cycle's 30 March and entry's 17 March; both publicised 5 working
        # days; C1 has one panel member (TY-PANEL)
        ("cycle_due", 2), ("cycle_on_time", 1), ("entry_due", 2), ("entry_on_time", 1),
        ("panel_ok", 1), ("publicity_ok", 2), ("quota_certified", 2),
        # the breaches count in the month of their case's submission (R1 is C1's)
        ("violations:TY-CYCLE", 1), ("violations:TY-ENTRY", 1), ("violations:TY-PANEL", 1),
        ("violations:TY-RECERT", 1),
    ]  # fmt: skip
    expected = [("2026-03", "H1", "内分泌科", m, v) for m, v in m3]
    expected += [
        ("2026-04", "H1", None, "sanctions_in_force", 1),
        ("2026-04", "H1", None, "sanctions_new", 1),
    ]
    # R1 requested 1 April, still open past its deadline (30 April): due, not on time
    expected += [
        ("2026-04", "H1", "内分泌科", "recerts", 1),
        ("2026-04", "H1", "内分泌科", "recerts_due", 1),
    ]
    expected += [
        # the person's sanction has no hospital (city only)
        ("2026-05", None, None, "sanctions_in_force", 1), ("2026-05", None, None, "sanctions_new", 1),
        # H1's own ends 10 May; its doctor's starts 20 May
        ("2026-05", "H1", None, "sanctions_ending", 1), ("2026-05", "H1", None, "sanctions_in_force", 2),
        ("2026-05", "H1", None, "sanctions_new", 1),
        # the evaluation time is 1 June: both open sanctions are in force that month
        ("2026-06", None, None, "sanctions_in_force", 1), ("2026-06", "H1", None, "sanctions_in_force", 1),
    ]  # fmt: skip
    assert rows == expected


def test_no_taiyuan_kpis_under_zhengzhou(con):
    sanctioned_world(con)
    refresh_marts(con, AS_OF, ZZ)
    assert con.execute("select count(*) from mart_ty_monthly_kpis").fetchone()[0] == 0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """sanctioned_world with H1 in 小店区, marts as of AS_OF under the Taiyuan profile; C1's
    push to E1 (Mon 2 March 09:00) never answered — a strike at 17:00 (8 hours, Taiyuan keeps
    Zhengzhou's expert deadlines); C2's push to E2 accepted and completed the next day — one
    review, 10 元."""
    path = tmp_path / "ty.duckdb"
    c = connect(path)
    sanctioned_world(c)
    put(c, "stg_tasks", [
        {"task_id": "T1", "case_id": "C1", "expert_id": "E1", "pushed_at": ts("2026-03-02 09:00:00")},
        {"task_id": "T2", "case_id": "C2", "expert_id": "E2", "pushed_at": ts("2026-03-02 09:00:00"),
         "responded_at": ts("2026-03-02 10:00:00"), "response": "受理",
         "completed_at": ts("2026-03-03 15:00:00"), "verdict": "符合"},
    ])  # fmt: skip
    c.execute("update stg_hospitals set district = if(hospital_id = 'H1', '小店区', '迎泽区')")
    refresh_marts(c, AS_OF, TY)
    c.close()
    return path


def kpis_csv(db: Path, out: Path, month: str) -> dict[str, str]:
    argv = ["kpis", "--profile", "taiyuan", "--db", str(db), "--month", month]
    assert main([*argv, "--as-of", STAMP, "--out", str(out)]) == 0
    with out.open(encoding="utf-8") as fh:
        return {r["metric"]: r["value"] for r in csv.DictReader(fh)}


def test_kpis_writes_taiyuans_numbers(db, tmp_path):
    march = kpis_csv(db, tmp_path / "march.csv", "2026-03")
    assert list(march)[:3] == ["quota_certified", "cycle_due", "cycle_on_time"]
    # CONTRACT's "at least" metrics follow the profile's own expert rules
    contract = ["strikes_sms", "strikes_notify_hospital", "strikes_disqualify",
                "strikes_after_disqualified", "fee_reviews", "fee_yuan"]  # fmt: skip
    assert [march[m] for m in contract] == ["1", "0", "0", "0", "1", "10"]
    assert (march["quota_certified"], march["cycle_on_time_rate"], march["panel_rate"]) == (
        "2", "0.5", "0.5",
    )  # fmt: skip
    assert (march["publicity_rate"], march["recert_on_time_rate"]) == ("1.0", "")
    assert (march["violations"], march["violations:TY-RECERT"]) == ("4", "1")
    may = kpis_csv(db, tmp_path / "may.csv", "2026-05")
    # H1's own sanction, its doctor's and the insured person's
    assert (may["sanctions_in_force"], may["sanctions_new"], may["sanctions_ending"]) == (
        "3", "2", "1",
    )  # fmt: skip


def test_cards_kpis_and_report_agree_for_one_taiyuan_month(db, tmp_path):
    got = kpis_csv(db, tmp_path / "kpis.csv", "2026-03")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "taiyuan_city.pdf"  # pages to look at
    argv = ["report", "--profile", "taiyuan", "--db", str(db), "--month", "2026-03"]
    assert main([*argv, "--as-of", STAMP, "--out", str(pdf)]) == 0
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(pdf), str(pdf.with_suffix(""))], check=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True)
    lines = [line.split() for line in text.stdout.decode("utf-8").splitlines()]
    at = open_page(db, "home", profile="taiyuan")
    at.selectbox(key="f-year").set_value(2026).run()
    at.selectbox(key="f-month").set_value(3).run()
    assert not at.exception, [e.message for e in at.exception]
    assert "本期申报件数" not in metrics(at) and "扣分·短信通知" not in metrics(at)
    # each card's name shows whole (a long one without its "N个工作日内", said in the tooltip)
    whole = {m.help or m.label: m for m in at.metric}
    assert all(len(m.label) <= CARD_CHARS for m in at.metric), [m.label for m in at.metric]
    assert whole["20个工作日内享受待遇按时率"].label == "享受待遇按时率"
    assert whole["3个工作日内录入按时率"].help == ""
    cards = {name: m.value for name, m in whole.items()}
    labels = ty_labels(TY)
    for metric in ("quota_certified", "recerts", "sanctions_new", "violations"):
        assert cards[labels[metric]] == f"{int(got[metric]):,}" == this_month(lines, labels[metric])
    for metric in ("cycle_on_time_rate", "publicity_rate", "entry_on_time_rate", "panel_rate"):
        assert cards[labels[metric]] == pct(float(got[metric])) == this_month(lines, labels[metric])
    assert cards[labels["cycle_on_time_rate"]] == "50.0%"
    assert (
        cards[labels["recert_on_time_rate"]]
        == "—"
        == this_month(lines, labels["recert_on_time_rate"])
    )
    flat = [" ".join(w) for w in lines]
    # violations by TY rule with their Chinese names; sanctions in force at the evaluation time
    assert any(line.startswith("重新认定超过时限 1") for line in flat)
    assert any(line.startswith("暂停医保处方权 1 0") for line in flat)
    assert any(line.startswith("停止待遇并追回 1 0") for line in flat)
