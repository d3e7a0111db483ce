"""The monthly report's comparisons, hospitals and spot checks with hand-computed expectations.

The world (report month 2026-03, evaluation time 2026-04-01 00:00, no tasks):
- hospitals H1 (中原区), H2 (金水区), H3 (中原区).
- cases of 2025-03: C1 (H1, 符合). Of 2026-02: C2 (H1, 符合), C3 (H2, 不符合).
  Of 2026-03: C4, C5 (H1, 符合), C6 (H2, 不符合), C7 (H2, pending).

  | month   | city: submitted / decided / approved | 中原区 | 金水区 |
  |---------|--------------------------------------|--------|--------|
  | 2025-03 | 1 / 1 / 1                            | 1/1/1  | none   |
  | 2026-02 | 2 / 2 / 1 (50.0%)                    | 1/1/1  | 1/1/0  |
  | 2026-03 | 4 / 3 / 2 (66.7%)                    | 2/2/2  | 2/1/0  |
- the expert pool (ZZ-HOSPITAL5 at 5%, 接近扣分 from 4%): H1 25 experts, 1 disqualified in 2026
  (4.0% → 接近扣分); H2 10 experts, 1 disqualified (10.0% → 扣分); H3 26 experts, 1 disqualified
  (3.8% → not listed).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from test_rules_support import ZZ, case, expert, hospital, load, ts

from pipelines.draws import import_findings, spot_check
from pipelines.evaltime import resolve
from pipelines.report import change, gather, render
from pipelines.rules import refresh_marts

AS_OF = ts("2026-04-01 00:00:00")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "report"


def pool(hospital_id: str, size: int) -> list[dict]:
    """`size` experts of the hospital, the first disqualified on 2026-01-15."""
    return [
        expert(f"{hospital_id}E{i:02d}", hospital_id=hospital_id,
               **({"disqualified_on": "2026-01-15"} if i == 0 else {}))
        for i in range(size)
    ]  # fmt: skip


def decided(case_id: str, hospital_id: str, day: str, outcome: str | None) -> dict:
    """A case submitted at 08:00 of the day, decided two days later unless pending."""
    at = ts(f"{day} 08:00:00")
    done = {} if outcome is None else {"outcome": outcome, "decided_at": f"{at + dt.timedelta(2)}"}
    return case(case_id, hospital_id=hospital_id, person_id=f"P{case_id}",
                submitted_at=f"{at}", **done)  # fmt: skip


def world(con) -> None:
    load(
        con,
        hospitals=[
            hospital("H1", district="中原区"),
            hospital("H2", district="金水区"),
            hospital("H3", district="中原区"),
        ],
        experts=pool("H1", 25) + pool("H2", 10) + pool("H3", 26),
        cases=[
            decided("C1", "H1", "2025-03-05", "符合"),
            decided("C2", "H1", "2026-02-03", "符合"),
            decided("C3", "H2", "2026-02-10", "不符合"),
            decided("C4", "H1", "2026-03-02", "符合"),
            decided("C5", "H1", "2026-03-03", "符合"),
            decided("C6", "H2", "2026-03-04", "不符合"),
            decided("C7", "H2", "2026-03-05", None),
        ],
    )
    refresh_marts(con, AS_OF, ZZ)


def report(con, district: str | None = None):
    return gather(con, ZZ, resolve(con, AS_OF), "2026-03", district)


CASES = ("cases_submitted", "cases_decided", "cases_approved", "approval_rate")


def compared(r) -> dict[str, tuple[str, ...]]:
    """metric → (本月, 上月, 环比, 去年同月, 同比) as printed."""
    cols = [r.shown("2026-03"), r.shown("2026-02"), r.changes("2026-02")]
    cols += [r.shown("2025-03"), r.changes("2025-03")]
    return {m: tuple(c[m] for c in cols) for m in CASES}


def test_change_words():
    assert change(4, 2) == "+2（+100.0%）"
    assert change(1_000, 3_000) == "-2,000（-66.7%）"
    assert change(1, 0) == "+1"
    assert change(5, 5) == "持平"
    assert change(2 / 3, 0.5) == "+16.7个百分点"
    assert change(0.0, 0.0) == "持平"
    assert change(None, 0.5) == change(3, None) == "—"


def test_the_city_beside_the_previous_month_and_the_same_month_last_year(con):
    world(con)
    assert compared(report(con)) == {
        "cases_submitted": ("4", "2", "+2（+100.0%）", "1", "+3（+300.0%）"),
        "cases_decided": ("3", "2", "+1（+50.0%）", "1", "+2（+200.0%）"),
        "cases_approved": ("2", "1", "+1（+100.0%）", "1", "+1（+100.0%）"),
        "approval_rate": ("66.7%", "50.0%", "+16.7个百分点", "100.0%", "-33.3个百分点"),
    }


def test_a_district_compares_its_own_months(con):
    world(con)
    assert compared(report(con, "中原区")) == {
        "cases_submitted": ("2", "1", "+1（+100.0%）", "1", "+1（+100.0%）"),
        "cases_decided": ("2", "1", "+1（+100.0%）", "1", "+1（+100.0%）"),
        "cases_approved": ("2", "1", "+1（+100.0%）", "1", "+1（+100.0%）"),
        "approval_rate": ("100.0%", "100.0%", "持平", "100.0%", "持平"),
    }
    # 金水区 had no case in 2025-03: the same month last year and its change are blank
    assert compared(report(con, "金水区")) == {
        "cases_submitted": ("2", "1", "+1（+100.0%）", "—", "—"),
        "cases_decided": ("1", "1", "持平", "—", "—"),
        "cases_approved": ("0", "0", "持平", "—", "—"),
        "approval_rate": ("0.0%", "0.0%", "持平", "—", "—"),
    }


def test_penalised_and_nearly_penalised_hospitals_by_name(con):
    world(con)
    assert report(con).hospitals == [
        ["医院H2", "10", "1", "10.0%", "扣分"],
        ["医院H1", "25", "1", "4.0%", "接近扣分"],
    ]
    assert report(con, "中原区").hospitals == [["医院H1", "25", "1", "4.0%", "接近扣分"]]


def pdf_lines(pdf: bytes, path: Path) -> list[str]:
    """The PDF written to path, its pages as PNG beside it (to look at), its text as lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
    for old in path.parent.glob(f"{path.stem}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(path), str(path.with_suffix(""))],
                   check=True)  # fmt: skip
    assert list(path.parent.glob(f"{path.stem}-*.png"))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True)
    path.with_suffix(".txt").write_bytes(text.stdout)  # pages split by form feeds
    return [" ".join(line.split()) for line in text.stdout.decode("utf-8").splitlines()]


def test_the_pdf_prints_the_comparisons_and_names_the_thresholds(con):
    world(con)
    lines = pdf_lines(render(report(con)), ARTIFACTS / "compare_city.pdf")
    assert "申报件数 4 2 +2（+100.0%） 1 +3（+300.0%）" in lines
    assert "鉴定通过率 66.7% 50.0% +16.7个百分点 100.0% -33.3个百分点" in lines
    text = "\n".join(lines)
    assert "比例 ≥ 5%" in text and "接近扣分：未扣分、比例 ≥ 4%" in text
    assert "医院H2 10 1 10.0% 扣分" in lines and "医院H1 25 1 4.0% 接近扣分" in lines
    assert "医院H3" not in text
    assert "近12个月无随机病例抽查记录。" in text
    assert "zhengzhou" not in text and "ZZ-" not in text


@pytest.fixture
def checked(con, tmp_path):
    """The world with two spot checks of 2026-03's approvals: one made 2026-03-20 (H1's C4 and
    C5, 1 in 10 rounded up: one pick each hospital with an approval — H1 only), found 不合格 with
    300 元 to recover; one made 2026-04-02, after the evaluation time (not in the report)."""
    world(con)
    first = spot_check(con, dt.date(2026, 3, 1), dt.date(2026, 3, 31), "0.1", "1", ZZ,
                       at=ts("2026-03-20 10:00:00"))  # fmt: skip
    spot_check(con, dt.date(2026, 3, 1), dt.date(2026, 3, 31), "0.1", "2", ZZ,
               at=ts("2026-04-02 10:00:00"))  # fmt: skip
    (pick,) = first.picks
    path = tmp_path / "结果.csv"
    path.write_text(
        f"申报编号,抽查结论,追回金额,备注\n{pick.id},不合格,300,\n", encoding="utf-8-sig"
    )
    import_findings(con, first.draw_id, path)
    return first.draw_id


def test_spot_checks_of_the_year_with_their_estimates(con, checked):
    r = report(con)
    assert [rec.draw_id for rec, _ in r.draws] == [checked]
    (_, a) = r.draws[0]
    # H1: N = 2 approvals, n = 1 checked, x = 1 不合格: rate 100%, 2 projected, 2 × 300 元; one
    # checked pick has no variance and the lower end floors at what was found: 100%–100%
    assert (a.total.frame_n, a.total.checked_n, a.total.improper_n) == (2, 1, 1)
    lines = pdf_lines(render(r), ARTIFACTS / "compare_spot_check.pdf")
    assert "2026-03-20 2026-03-01 至 2026-03-31 2 1 1 100.0%（100.0%–100.0%） 2 600" in lines
    # the outlook's heading, table and note share one page (no page holding only the note)
    pages = (ARTIFACTS / "compare_spot_check.txt").read_text(encoding="utf-8").split("\f")
    (outlook,) = [p for p in pages if "待核实任务不计入扣分与处置" in p]
    assert "六、风险展望" in outlook and "即将超过时限的任务" in outlook
    # 金水区 had no approval in March: the draw is listed, nothing of it is the district's
    (_, mine) = report(con, "金水区").draws[0]
    assert (mine.strata, mine.total.checked_n, mine.total.rate) == ([], 0, None)
