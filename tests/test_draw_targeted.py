"""明察暗访: targeted picks by risk score on top of a random draw, their own record, never estimated."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from test_draw_support import run_cli
from test_rules_support import case, expert, hospital, load, task

from pipelines.config import load_profile
from pipelines.draws import current_state, import_findings, spot_check, verify_log
from pipelines.draws.appraise import appraise
from pipelines.draws.targeted import targeted_of, targeted_picks
from pipelines.errors import UsageError

ZZ = load_profile("zhengzhou")
DAY = "2026-05-10"


def review(tid: str, case_id: str, expert_id: str, verdict: str, minutes: int = 1440) -> dict:
    done = dt.datetime(2026, 5, 9, 9, 0) + dt.timedelta(minutes=minutes)
    return task(
        tid,
        case_id=case_id,
        expert_id=expert_id,
        pushed_at="2026-05-09 08:00:00",
        responded_at="2026-05-09 09:00:00",
        response="受理",
        completed_at=f"{done:%Y-%m-%d %H:%M:%S}",
        verdict=verdict,
    )


def risk_world(con) -> None:
    """20 approved cases C00–C19 (H1: C00–C09, H2: C10–C19) and 10 refused D00–D09, 内分泌科.

    EA approves all 12 of its reviews (100%) — the specialty approves 39 of 60 (65%): lenient.
    EB 12/22, EC 8/18, ED 7/8 (under 10 reviews: not judged). EB took 4 minutes on C05, ED 3
    minutes on C19, and on C19 EC said 符合 and ED 不符合 (split).
    Scores: C05 = 2 (EA lenient, EB fast), C19 = 2 (split, ED fast), C00–C11 otherwise 1 (EA),
    C12–C18 0.
    """
    cases = [
        case(
            f"C{i:02d}",
            hospital_id="H1" if i < 10 else "H2",
            outcome="符合",
            decided_at=f"{DAY} 10:00:00",
        )
        for i in range(20)
    ] + [case(f"D{i:02d}", outcome="不符合", decided_at=f"{DAY} 10:00:00") for i in range(10)]
    tasks = []
    for i in range(12):
        tasks.append(review(f"TA{i}", f"C{i:02d}", "EA", "符合"))
        tasks.append(review(f"TB{i}", f"C{i:02d}", "EB", "符合", 4 if i == 5 else 1440))
    for i in range(10):
        tasks.append(review(f"TD{i}", f"D{i:02d}", "EB", "不符合"))
        tasks.append(review(f"TE{i}", f"D{i:02d}", "EC", "不符合"))
    for i in range(12, 20):
        tasks.append(review(f"TC{i}", f"C{i:02d}", "EC", "符合"))
        bad = i == 19
        tasks.append(
            review(f"TF{i}", f"C{i:02d}", "ED", "不符合" if bad else "符合", 3 if bad else 1440)
        )
    experts = [expert(e) for e in ("EA", "EB", "EC", "ED")]
    load(con, hospitals=[hospital("H1"), hospital("H2")], experts=experts, cases=cases, tasks=tasks)


@pytest.fixture
def drawn(con):
    risk_world(con)
    res = spot_check(con, dt.date(2026, 5, 1), dt.date(2026, 5, 31), "0.1", "7", ZZ)
    return res.draw_id, [p.id for p in res.picks]


def expected_order(random_ids: list[str]) -> list[tuple[str, int]]:
    scores = {"C05": 2, "C19": 2} | {f"C{i:02d}": 1 for i in range(12) if i != 5}
    left = [(c, s) for c, s in scores.items() if c not in random_ids]
    return sorted(left, key=lambda t: (-t[1], t[0]))


def test_highest_risk_cases_outside_the_random_picks_with_their_reasons(con, drawn):
    draw_id, random_ids = drawn
    assert len(random_ids) == 2  # ceil(10% × 10) per hospital
    rec = targeted_picks(con, draw_id, 4, supervisor="王纪检")
    assert rec.draw_id.startswith("TP-")
    scores = rec.params()["scores"]
    assert [(s["case_id"], s["score"]) for s in scores] == expected_order(random_ids)[:4]
    assert [p.id for p in rec.pick_list()] == [s["case_id"] for s in scores]
    reasons = {s["case_id"]: s["reason"] for s in scores}
    if "C05" not in random_ids:
        assert "专家 EA 通过率 100%，高于同专业（内分泌科）65%" in reasons["C05"]
        assert "专家 EB 受理后 4 分钟即办结" in reasons["C05"]
    if "C19" not in random_ids:
        assert "专家意见不一致（符合 1，不符合 1）" in reasons["C19"]
        assert "专家 ED 受理后 3 分钟即办结" in reasons["C19"]
    assert targeted_of(con, draw_id) == [rec]
    assert verify_log(con).ok


def test_targeted_picks_never_enter_the_estimates(con, drawn, tmp_path):
    draw_id, random_ids = drawn
    rec = targeted_picks(con, draw_id, 3)
    path = tmp_path / "结果.csv"
    rows = [f"{p.id},不合格,900," for p in rec.pick_list()]
    path.write_text("申报编号,抽查结论,追回金额,备注\n" + "\n".join(rows) + "\n", encoding="utf-8")
    import_findings(con, rec.draw_id, path)  # findings of targeted picks are recorded…
    a = appraise(con, draw_id)
    assert a.total.checked_n == 0 and a.total.improper_n == 0  # …but never estimate
    assert current_state(con, draw_id).picks[0].id in random_ids
    with pytest.raises(UsageError, match="不是随机病例抽查"):
        appraise(con, rec.draw_id)


def test_targeted_needs_a_random_case_draw_and_a_positive_n(con, drawn):
    draw_id, _ = drawn
    with pytest.raises(UsageError, match="至少为 1"):
        targeted_picks(con, draw_id, 0)
    rec = targeted_picks(con, draw_id, 1)
    with pytest.raises(UsageError, match="随机病例抽查"):
        targeted_picks(con, rec.draw_id, 1)


def test_targeted_cli(con, drawn, db_path, tmp_path, capsys):
    draw_id, random_ids = drawn
    con.close()
    out = tmp_path / "t.csv"
    argv = ["targeted", "--db", str(db_path), "--draw", draw_id, "--n", "2", "--out", str(out)]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    assert stdout.strip().startswith("TP-") and "不参与抽查推断" in err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    want = expected_order(random_ids)[:2]
    assert [(r["rank"], r["case_id"], r["score"]) for r in rows] == [
        (str(i), c, str(s)) for i, (c, s) in enumerate(want, start=1)
    ]


def test_the_targeted_record_prints_as_a_pdf_with_scores(con, drawn, tmp_path):
    from test_draw_pdf import needs_poppler, text_of

    if needs_poppler.args[0]:
        pytest.skip("poppler-utils missing")
    from pipelines.draws import record_pdf

    draw_id, _ = drawn
    rec = targeted_picks(con, draw_id, 2)
    text = text_of(record_pdf(con, rec.draw_id, tmp_path / "tp.pdf", public=True))
    assert "明察暗访定向抽取（不参与推断）" in text
    assert rec.pick_list()[0].id in text and "风险分" in text and "随机种子" not in text
