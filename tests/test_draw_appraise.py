"""What a spot check tells (RULES "What a spot check tells"): hand-computed cases and scipy checks."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy import stats
from test_draw_support import run_cli, spot_check_world

from pipelines.config import ROOT, load_profile
from pipelines.draws import import_findings, replace, spot_check
from pipelines.draws.appraise import (
    COLUMNS,
    Stratum,
    appraise,
    clopper_pearson,
    headline,
    hospital_estimate,
    parse_confidence,
    population_estimate,
    z_value,
)
from pipelines.errors import UsageError

ZZ = load_profile("zhengzhou")
Z90 = 1.6448536269514722  # the standard normal quantile at 0.95
HEAD = "申报编号,抽查结论,追回金额,备注\n"


def stratum(h: str, big_n: int, ys: list[int | None], drawn: int | None = None) -> Stratum:
    """A stratum from its findings: y in yuan for 不合格, None for 合格."""
    fen = [100 * y for y in ys if y is not None]
    return Stratum(
        h, None, big_n, drawn or len(ys), len(ys), len(fen), sum(fen), sum(f * f for f in fen)
    )


def test_z_at_90_and_95_percent():
    assert z_value(Decimal("0.90")) == pytest.approx(Z90, abs=1e-12)
    assert z_value(Decimal("0.95")) == pytest.approx(1.959963984540054, abs=1e-12)


def test_none_improper_gives_zero_to_the_closed_form_upper_bound():
    # x = 0: lower 0, upper = 1 − ((1−C)/2)^(1/n) (the Beta(1, n) quantile in closed form)
    assert clopper_pearson(0, 4, Decimal("0.9")) == (0.0, pytest.approx(1 - 0.05**0.25))


def test_all_improper_gives_the_closed_form_lower_bound_to_one():
    # x = n: lower = ((1−C)/2)^(1/n), upper 1
    assert clopper_pearson(3, 3, Decimal("0.9")) == (pytest.approx(0.05 ** (1 / 3)), 1.0)


def test_one_checked_pick_improper_has_no_variance_and_floors_at_what_was_found():
    s = stratum("H1", 31, [1000], drawn=4)
    e = hospital_estimate(s, Decimal("0.9"), Z90)
    assert (e.rate, e.rate_low, e.rate_high) == (1.0, pytest.approx(0.05), 1.0)
    assert e.projected_improper == 31
    assert e.projected_low == pytest.approx(31 * 0.05)  # 1.55, above x = 1
    assert e.projected_high == 31
    assert (e.projected_yuan, e.yuan_low, e.yuan_high) == (31000, 31000, 31000)
    assert s.unchecked_n == 3


def test_projected_low_never_below_the_improper_found():
    # x = 1 of n = 20 in N = 20: N × CP lower = 20 × 0.00256… = 0.05 < 1 found
    e = hospital_estimate(stratum("H1", 20, [5] + [None] * 19), Decimal("0.9"), Z90)
    assert 20 * e.rate_low < 1
    assert e.projected_low == 1


def test_whole_frame_checked_the_finite_population_correction_closes_the_interval():
    # n = N = 4, y = 100, 300, 0, 0: (1 − n/N) = 0, so the amount is known exactly
    e = population_estimate([stratum("H1", 4, [100, 300, None, None])], Z90)
    assert (e.projected_improper, e.projected_low, e.projected_high) == (2, 2, 2)
    assert (e.projected_yuan, e.yuan_low, e.yuan_high) == (400, 400, 400)
    assert e.found_yuan == Decimal("400.00")


def test_stratified_population_row_by_hand():
    # H1: N = 31, n = 4, x = 2, y = 100, 300, 0, 0  → p = .5, ȳ = 100, s² = 20000
    # H2: N = 31, n = 1, x = 1, y = 1000 (one checked pick: no variance)
    # H3: N = 1, n = 1, x = 1, y = 300 (n = N)
    # H4: N = 11, none checked: left out
    strata = [
        stratum("H1", 31, [100, 300, None, None]),
        stratum("H2", 31, [1000], drawn=4),
        stratum("H3", 1, [300]),
        Stratum("H4", None, 11, 2, 0, 0, 0, 0),
    ]
    e = population_estimate(strata, Z90)
    assert (e.frame_n, e.checked_n, e.improper_n) == (63, 6, 4)
    assert e.projected_improper == pytest.approx(31 * 0.5 + 31 + 1)  # 47.5
    v_t = 31**2 * (1 - 4 / 31) * 0.25 / 3  # 69.75
    assert v_t == pytest.approx(69.75)
    assert e.projected_low == pytest.approx(47.5 - Z90 * math.sqrt(69.75))
    assert e.projected_high == pytest.approx(47.5 + Z90 * math.sqrt(69.75))
    assert e.rate == pytest.approx(47.5 / 63)
    assert e.rate_high == pytest.approx((47.5 + Z90 * math.sqrt(69.75)) / 63)
    v_y = 31**2 * (1 - 4 / 31) * 20000 / 4  # 4,185,000
    assert v_y == pytest.approx(4_185_000)
    assert e.projected_yuan == pytest.approx(3100 + 31000 + 300)
    assert e.yuan_low == pytest.approx(34400 - Z90 * math.sqrt(4_185_000))
    assert e.yuan_high == pytest.approx(34400 + Z90 * math.sqrt(4_185_000))
    assert e.found_yuan == Decimal("1700.00")


def test_interval_lower_ends_floor_at_the_found_sum():
    # wide variance, small found: T − z√V < Σx, Y − z√V < Σy
    e = population_estimate([stratum("H1", 1000, [1, None])], Z90)
    assert e.projected_low == 1
    assert e.yuan_low == 1


def test_confidence_is_checked():
    assert parse_confidence("95%") == Decimal("0.95")
    assert parse_confidence(None) == Decimal("0.90")
    for bad in ("1", "100%", "0", "abc", "-0.5"):
        with pytest.raises(UsageError, match="置信度"):
            parse_confidence(bad)


def test_generated_findings_agree_with_scipy():
    rng = random.Random(12)
    for _ in range(40):
        strata, samples = [], []
        for h in range(rng.randint(1, 6)):
            big_n = rng.randint(2, 400)
            n = rng.randint(1, big_n)
            ys = [rng.choice([None, None, rng.randint(1, 5000)]) for _ in range(n)]
            strata.append(stratum(f"H{h}", big_n, ys))
            samples.append((big_n, np.array([y or 0 for y in ys], float), ys))
        c = rng.choice([0.8, 0.9, 0.95, 0.99])
        z = float(stats.norm.ppf((1 + c) / 2))
        for s, (big_n, y, ys) in zip(strata, samples, strict=True):
            x = sum(v is not None for v in ys)
            ci = stats.binomtest(x, len(ys)).proportion_ci(confidence_level=c, method="exact")
            e = hospital_estimate(s, Decimal(str(c)), z)
            assert (e.rate_low, e.rate_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
            assert e.projected_yuan == pytest.approx(big_n * y.mean())
        e = population_estimate(strata, z)
        v_y = sum(
            n**2 * (1 - len(y) / n) * y.var(ddof=1) / len(y) for n, y, _ in samples if len(y) > 1
        )
        point = sum(n * y.mean() for n, y, _ in samples)
        found = sum(y.sum() for _, y, _ in samples)
        assert e.yuan_high == pytest.approx(point + z * math.sqrt(v_y))
        assert e.yuan_low == pytest.approx(max(found, point - z * math.sqrt(v_y)))


@pytest.fixture
def drawn(con):
    """A spot check of the 4-hospital world (H01 11, H02 31, H03 31, H04 1 approved cases)."""
    spot_check_world(con)
    res = spot_check(con, dt.date(2026, 5, 1), dt.date(2026, 5, 31), "0.1", "7", ZZ)
    by_hospital: dict[str, list[str]] = {}
    for p in res.picks:
        by_hospital.setdefault(p.stratum, []).append(p.id)
    return res.draw_id, by_hospital


def fill(con, tmp_path: Path, draw_id: str, rows: list[str]) -> None:
    path = tmp_path / "结果.csv"
    path.write_text(HEAD + "".join(r + "\n" for r in rows), encoding="utf-8-sig")
    import_findings(con, draw_id, path)


def test_sums_per_hospital_come_from_the_latest_findings(con, drawn, tmp_path):
    draw_id, picks = drawn
    h2, h3, h4 = picks["H02"], picks["H03"], picks["H04"]
    fill(con, tmp_path, draw_id, [f"{h2[0]},不合格,50,"])  # overwritten below
    fill(
        con,
        tmp_path,
        draw_id,
        [f"{h2[0]},不合格,100,", f"{h2[1]},不合格,300,", f"{h2[2]},合格,,", f"{h2[3]},合格,,"]
        + [f"{h3[0]},不合格,1000,", f"{h4[0]},不合格,300,"],
    )
    a = appraise(con, draw_id)
    sums = {s.hospital_id: (s.frame_n, s.drawn_n, s.checked_n, s.improper_n) for s in a.strata}
    assert sums == {
        "H01": (11, 2, 0, 0),
        "H02": (31, 4, 4, 2),
        "H03": (31, 4, 1, 1),
        "H04": (1, 1, 1, 1),
    }
    s2 = next(s for s in a.strata if s.hospital_id == "H02")
    assert (s2.sum_fen, s2.sum_fen2) == (40000, 10000**2 + 30000**2)
    assert a.unchecked_n == 2 + 3
    assert [s.hospital_id for s in a.empty] == ["H01"]
    assert a.total.projected_improper == pytest.approx(47.5)
    text = headline(a)
    assert "尚有 5 件抽中病例未录入抽查结论" in text
    assert "以 90% 的把握" in text and "63 件中不合格约 48 件" in text
    assert "医院H01 尚无抽查结论" in text


def test_replaced_pick_counts_in_place_of_the_one_it_replaced(con, drawn, tmp_path):
    draw_id, picks = drawn
    old = picks["H02"][0]
    new = replace(con, draw_id, old, "病历已销毁").picks[0].id
    fill(con, tmp_path, draw_id, [f"{new},不合格,10,"])
    s2 = next(s for s in appraise(con, draw_id).strata if s.hospital_id == "H02")
    assert (s2.drawn_n, s2.checked_n, s2.improper_n) == (4, 1, 1)


def test_appraise_cli_writes_the_contract_columns(con, drawn, db_path, tmp_path, capsys):
    draw_id, picks = drawn
    h2, h4 = picks["H02"], picks["H04"]
    fill(con, tmp_path, draw_id, [f"{h2[0]},不合格,100,", f"{h2[1]},合格,,", f"{h4[0]},合格,,"])
    con.close()
    out = tmp_path / "估计.csv"
    argv = ["appraise", "--db", str(db_path), "--draw", draw_id, "--confidence", "90%"]
    code, _, err = run_cli([*argv, "--out", str(out)], capsys)
    assert code == 0, err
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == COLUMNS
    assert [r[0] for r in rows[1:]] == ["H01", "H02", "H03", "H04", "ALL"]
    assert rows[1] == ["H01", "11", "0", "0"] + [""] * 6 + ["0.00", "", "", ""]
    # H02: N = 31, n = 2, x = 1: CP (0.025321, 0.974679) at 90%
    low, high = 1 - math.sqrt(0.95), math.sqrt(0.95)  # Beta(1,2) and Beta(2,1) quantiles
    v = 31**2 * (1 - 2 / 31) * 0.25 / 1
    assert rows[2] == [
        "H02", "31", "2", "1", "0.500000", f"{low:.6f}", f"{high:.6f}",
        "15.50", f"{31 * low:.2f}" if 31 * low > 1 else "1.00", f"{31 * high:.2f}",
        "100.00", "1550.00",
        f"{max(100, 1550 - Z90 * math.sqrt(v * 100**2)):.2f}", f"{1550 + Z90 * math.sqrt(v * 100**2):.2f}",
    ]  # fmt: skip
    # ALL: H02 and H04 (N = 1, n = 1, x = 0): T = 15.5 of 32
    assert rows[5][:4] == ["ALL", "32", "3", "1"]
    assert rows[5][4] == f"{15.5 / 32:.6f}"
    assert rows[5][7:10] == ["15.50", "1.00", f"{15.5 + Z90 * math.sqrt(v):.2f}"]
    assert "以 90% 的把握" in err


def test_appraise_refuses_what_is_not_a_random_case_draw(con, drawn, db_path, tmp_path, capsys):
    draw_id, _ = drawn
    frozen = con.execute("select frozen_id from draw_log where draw_id = ?", [draw_id]).fetchone()
    con.close()
    out = ["--out", str(tmp_path / "x.csv")]
    code, _, err = run_cli(["appraise", "--db", str(db_path), "--draw", frozen[0], *out], capsys)
    assert code == 2 and "不是随机病例抽查" in err
    code, _, err = run_cli(["appraise", "--db", str(db_path), "--draw", "SC-1", *out], capsys)
    assert code == 1 and "SC-1 不存在" in err


# --- sample size for a precision (plan-sample, spot-check --expected-rate, the verifier) ---

PLAN = ["--expected-rate", "50%", "--half-width", "0.1", "--confidence", "0.9"]


def test_plan_sample_by_hand(con, db_path, tmp_path, capsys):
    # z = 1.6449, n0 = z²·.25/.01 = 67.64; N = 31: ceil(67.64 / (1 + 66.64/31)) = ceil(21.47) = 22;
    # N = 11: ceil(9.58) = 10; N = 1: never above N → 1
    spot_check_world(con)
    con.close()
    out = tmp_path / "n.csv"
    argv = ["plan-sample", "--db", str(db_path), "--from", "2026-05-01", "--to", "2026-05-31"]
    code, _, err = run_cli([*argv, *PLAN, "--out", str(out)], capsys)
    assert code == 0, err
    assert out.read_text() == "hospital_id,frame_n,n\nH01,11,10\nH02,31,22\nH03,31,22\nH04,1,1\n"
    # a loose plan: n0 = 3.21 gives 3 for N = 31, below the 10% floor ceil(3.1) = 4
    loose = ["--expected-rate", "0.05", "--half-width", "0.2"]
    code, _, err = run_cli([*argv, *loose, "--out", str(out)], capsys)
    assert code == 0, err
    assert out.read_text() == "hospital_id,frame_n,n\nH01,11,3\nH02,31,4\nH03,31,4\nH04,1,1\n"


def test_plan_sample_refuses_a_rate_of_one(con, db_path, tmp_path, capsys):
    con.close()
    argv = ["plan-sample", "--db", str(db_path), "--from", "2026-05-01", "--to", "2026-05-31"]
    bad = ["--expected-rate", "100%", "--half-width", "0.1", "--out", str(tmp_path / "n.csv")]
    code, _, err = run_cli([*argv, *bad], capsys)
    assert code == 2 and "预期不合格率" in err


def test_spot_check_sized_for_a_precision_is_recorded_and_verifiable(
    con, db_path, tmp_path, capsys
):
    spot_check_world(con)
    con.close()
    out, population = tmp_path / "spot.csv", tmp_path / "pop.csv"
    argv = ["spot-check", "--db", str(db_path), "--from", "2026-05-01", "--to", "2026-05-31"]
    argv += ["--seed", "7", "--out", str(out), "--population-out", str(population), *PLAN]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    draw_id = stdout.strip()
    assert draw_id.startswith("SC-") and draw_id in err and "预期不合格率 50%" in err
    con = duckdb.connect(str(db_path))
    params = json.loads(
        con.execute("select parameters from draw_log where draw_id = ?", [draw_id]).fetchone()[0]
    )
    con.close()
    assert params["k"] == {"H01": 10, "H02": 22, "H03": 22, "H04": 1}
    assert params["precision"] == {
        "expected_rate": "0.5",
        "half_width": "0.1",
        "confidence": "0.9",
        "min_rate": "0.10",
    }
    assert "rate" not in params
    assert run_cli(["verify-log", "--db", str(db_path)], capsys)[0] == 0
    tool = [sys.executable, "-I", str(ROOT / "tools" / "verify_draw.py"), "--seed", "7"]
    tool += ["--population", str(population), "--result", str(out)]
    plan = ["--expected-rate", "0.5", "--half-width", "0.1", "--confidence", "0.9"]
    ok = subprocess.run([*tool, *plan], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.endswith("OK\n"), ok.stdout + ok.stderr
    plan[3] = "0.11"  # another half-width gives other k
    bad = subprocess.run([*tool, *plan], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "MISMATCH" in bad.stdout


def test_rate_and_precision_together_are_refused(con, db_path, tmp_path, capsys):
    con.close()
    argv = ["spot-check", "--db", str(db_path), "--from", "2026-05-01", "--to", "2026-05-31"]
    argv += ["--seed", "7", "--out", str(tmp_path / "s.csv"), "--rate", "10%", *PLAN]
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and "只能选一种" in err


def test_the_pdf_record_ends_with_the_estimates_and_the_formulas(con, drawn, tmp_path):
    from test_draw_pdf import needs_poppler, text_of

    if needs_poppler.args[0]:
        pytest.skip("poppler-utils missing")
    from pipelines.draws import record_pdf

    draw_id, picks = drawn
    before = text_of(record_pdf(con, draw_id, tmp_path / "before.pdf", public=True))
    assert "抽查推断" not in before  # no findings, no appendix
    h2 = picks["H02"]
    fill(con, tmp_path, draw_id, [f"{h2[0]},不合格,100,", f"{h2[1]},合格,,"])
    text = text_of(record_pdf(con, draw_id, tmp_path / "r.pdf", public=True))
    assert "附录：抽查推断" in text and "以 90% 的把握" in text
    assert "BetaInv((1−C)/2; x, n−x+1)" in text.replace("\n", "")
    assert "50.0%（2.5%–97.5%）" in text  # H02: x = 1 of 2, Clopper–Pearson at 90%


def test_the_taiyuan_review_case_draw_is_appraised_alike(con, tmp_path):
    from test_draw_review import AS_OF, SEED, TY, review_world

    from pipelines.draws import parse_quarter, review_plan

    review_world(con)  # Q2 frames: H1 12, H2 25, H3 5, H4 3 → picks 2, 3, 1, 1
    plan = review_plan(con, parse_quarter("2026Q3"), SEED, AS_OF, TY)
    h2 = [p.id for p in plan.cases.picks if p.hospital_id == "H2"]
    fill(con, tmp_path, plan.cases.draw_id, [f"{h2[0]},不合格,200,", f"{h2[1]},合格,,"])
    a = appraise(con, plan.cases.draw_id, "95%")
    assert a.kind == "review_cases" and a.unchecked_n == 7 - 2
    e = next(e for e in a.hospitals if e.hospital_id == "H2")
    assert (e.frame_n, e.checked_n, e.improper_n, e.projected_improper) == (25, 2, 1, 12.5)
    # x = 1 of n = 2 at 95%: Beta(1, 2) and Beta(2, 1) quantiles in closed form
    assert e.rate_low == pytest.approx(1 - math.sqrt(0.975))
    assert e.rate_high == pytest.approx(math.sqrt(0.975))
    assert a.total.frame_n == 25  # the other hospitals have no finding yet: left out
