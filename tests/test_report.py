"""The monthly report: the 总览 KPI cards, the `kpis` CSV and the report PDF show the same numbers.

Generated data (several districts, strikes up to disqualification) with marts as of its end; the
PDF is read back with poppler's `pdftotext` and its pages turned to PNG with `pdftoppm`.
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
from test_pages_monitoring import AS_OF, STRIKE_CARDS, build_db

from dashboard.common import pct
from pipelines.cli import main
from pipelines.report import change

from apptest_util import metrics, open_page

MONTH = f"{AS_OF.year}-10"
PREVIOUS = f"{AS_OF.year}-09"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "report"
STAMP = f"{AS_OF:%Y-%m-%d %H:%M:%S}"
# the report names the strike actions in full
REPORT_ROWS = {
    "sms": "扣分·短信通知",
    "notify_hospital": "扣分·通报所在医院",
    "disqualify": "扣分·取消鉴定专家资格",
    "after_disqualified": "扣分·取消资格后再次超时",
}


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("report"))


def kpis_csv(db: Path, out: Path, *district: str, month: str = MONTH) -> dict[str, str]:
    argv = ["kpis", "--db", str(db), "--month", month, "--as-of", STAMP, "--out", str(out)]
    assert main([*argv, *district]) == 0
    with out.open(encoding="utf-8") as fh:
        return {r["metric"]: r["value"] for r in csv.DictReader(fh)}


def report_text(db: Path, out: Path, *district: str) -> list[list[str]]:
    """The report's lines as words (pdftotext -layout), after checking it turns into pages."""
    argv = ["report", "--db", str(db), "--month", MONTH, "--as-of", STAMP, "--out", str(out)]
    assert main([*argv, *district]) == 0
    for old in out.parent.glob(f"{out.stem}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(out), str(out.with_suffix(""))], check=True)
    assert len(list(out.parent.glob(f"{out.stem}-*.png"))) >= 2
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True)
    return [line.split() for line in text.stdout.decode("utf-8").splitlines()]


def this_month(lines: list[list[str]], label: str, column: int = 1) -> str:
    """The report's 本月 value of a KPI row (the first line that starts with its label), or
    another column: 2 上月, 3 环比变化, 4 去年同月, 5 同比变化."""
    return next(words[column] for words in lines if words and words[0] == label)


def count(value: str) -> str:
    return f"{int(value):,}"


def test_cards_kpis_csv_and_report_agree_for_one_month(db, tmp_path):
    got = kpis_csv(db, tmp_path / "kpis.csv")
    before = kpis_csv(db, tmp_path / "before.csv", month=PREVIOUS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lines = report_text(db, ARTIFACTS / "generated_city.pdf")  # pages to look at
    at = open_page(db, "home")
    at.selectbox(key="f-month").set_value(10).run()
    assert not at.exception, [e.message for e in at.exception]
    cards = metrics(at)

    assert int(got["cases_submitted"]) > 0 and int(got["strikes_disqualify"]) > 0
    same = {
        "本期申报件数": ("cases_submitted", "申报件数"),
        "本期已出结果": ("cases_decided", "已出结果"),
        "取消资格专家": ("experts_disqualified", "取消资格专家"),
        "规则核查问题": ("violations", "规则核查问题"),
    }
    for card, (metric, row) in same.items():
        assert cards[card] == count(got[metric]) == this_month(lines, row), card
    for action, card in STRIKE_CARDS.items():
        metric = f"strikes_{action}"
        assert cards[card] == count(got[metric]) == this_month(lines, REPORT_ROWS[action]), card
    buttons = [b.proto.label for b in at.get("download_button")]
    assert f"下载{AS_OF.year}年10月监管月报（PDF，全市）" in buttons
    rates = {
        "本期鉴定通过率": ("approval_rate", "鉴定通过率"),
        "8小时响应按时率": ("accept_on_time_rate", "8小时响应按时率"),
        "2个工作日办结按时率": ("complete_on_time_rate", "2个工作日办结按时率"),
    }
    for card, (metric, row) in rates.items():
        assert cards[card] == pct(float(got[metric])) == this_month(lines, row), card
    assert this_month(lines, "鉴定劳务费（元）") == count(got["fee_yuan"])
    assert this_month(lines, "鉴定劳务费例数") == count(got["fee_reviews"])
    # the previous month's column and the change are those of `kpis --month` of that month
    for metric, row in {"cases_submitted": "申报件数", "fee_yuan": "鉴定劳务费（元）"}.items():
        now, then = int(got[metric]), int(before[metric])
        assert now != then and this_month(lines, row, 2) == count(before[metric])
        assert this_month(lines, row, 3) == change(now, then), row
    now, then = float(got["approval_rate"]), float(before["approval_rate"])
    assert this_month(lines, "鉴定通过率", 2) == pct(then)
    assert this_month(lines, "鉴定通过率", 3) == f"{round((now - then) * 100, 1):+.1f}个百分点"
    flat = [" ".join(w) for w in lines]
    assert any(STAMP in line and line.startswith("评估时间") for line in flat)
    assert any(line.startswith("数据截止时间") for line in flat)


def test_a_district_report_counts_only_the_district(db, tmp_path):
    city = kpis_csv(db, tmp_path / "city.csv")
    jinshui = kpis_csv(db, tmp_path / "jinshui.csv", "--district", "金水区")
    assert 0 < int(jinshui["cases_submitted"]) < int(city["cases_submitted"])
    lines = report_text(db, tmp_path / "jinshui.pdf", "--district", "金水区")
    assert this_month(lines, "申报件数") == count(jinshui["cases_submitted"])
    assert any("金水区" in " ".join(w) for w in lines[:5])


def test_an_unknown_district_is_a_data_error(db, tmp_path):
    argv = ["report", "--db", str(db), "--month", MONTH, "--district", "不存在区"]
    assert main([*argv, "--out", str(tmp_path / "x.pdf")]) == 1
    assert not (tmp_path / "x.pdf").exists()
