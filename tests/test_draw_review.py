"""TY-REVIEW: the quarterly double-random review (cases, then experts) and the appeal panels."""

from __future__ import annotations

import csv
import datetime as dt
import math

import pytest
from test_draw_support import ENDO, approved, first_k, read, run_cli
from test_rules_support import expert, hospital, load, task

from pipelines.config import load_profile
from pipelines.draws import (
    appeal_panel,
    current_state,
    parse_quarter,
    replace,
    review_calendar,
    review_plan,
    review_step,
    verify_log,
)
from pipelines.draws.keys import Pick
from pipelines.draws.review import Quarter, plan_specialty
from pipelines.errors import UsageError

TY = load_profile("taiyuan")
ZZ = load_profile("zhengzhou")
SEED = "31415926535897932384"
AS_OF = dt.datetime(2026, 7, 6, 9)
CARDIO_POOL = {"X1": "H1", "X2": "H2", "X3": "H1", "X4": "H3", "X5": "H4", "X6": "H2"}
ENDO_POOL = {"Y1": "H4", "Y2": "H4", "Y3": "H1", "Y4": "H2"}


def review_world(con) -> dict[str, dict[str, str]]:
    """Q2 2026 certified cases: cardio H1 12, H2 25, H3 5; endocrine H4 3. Noise outside Q2."""
    cases = {
        "H1": [f"H1-{n:02d}" for n in range(12)],
        "H2": [f"H2-{n:02d}" for n in range(25)],
        "H3": [f"H3-{n:02d}" for n in range(5)],
        "H4": [f"H4-{n:02d}" for n in range(3)],
    }
    rows = [r for h in ("H1", "H2", "H3") for r in approved(h, cases[h], "2026-05-10 10:00:00")]
    rows += approved("H4", cases["H4"], "2026-06-30 23:59:59", disease=ENDO)
    rows += approved("H1", ["Q1-LATE"], "2026-03-31 23:59:59")
    rows += approved("H1", ["Q3-EARLY"], "2026-07-01 00:00:00")
    rows += approved("H2", ["Q2-FAIL"], "2026-05-10 10:00:00", outcome="不符合")
    experts = [expert(i, hospital_id=h, specialty="心血管内科") for i, h in CARDIO_POOL.items()]
    experts += [expert(i, hospital_id=h, specialty="内分泌科") for i, h in ENDO_POOL.items()]
    experts += [expert("X9", hospital_id="H2", specialty="心血管内科", title="主治医师")]
    load(
        con,
        hospitals=[hospital(h) for h in ("H1", "H2", "H3", "H4")],
        experts=experts,
        cases=rows,
        tasks=[
            task(
                "T1",
                case_id="H1-00",
                expert_id="X6",
                pushed_at="2026-05-01 09:00:00",
                responded_at="2026-05-01 10:00:00",
                response="受理",
                completed_at="2026-05-02 10:00:00",
                verdict="符合",
            )
        ],
    )
    return cases


def test_quarters_and_the_review_calendar():
    q = parse_quarter("2026Q3")
    assert q == Quarter(2026, 3) and parse_quarter(" 2026-q3 ") == q
    assert (q.previous().first_day, q.previous().last_day) == (
        dt.date(2026, 4, 1),
        dt.date(2026, 6, 30),
    )
    assert parse_quarter("2026Q1").previous().label == "2025Q4"
    assert parse_quarter("2025Q4").last_day == dt.date(2025, 12, 31)
    for bad in ("2026Q5", "2026", "Q3"):
        with pytest.raises(UsageError):
            parse_quarter(bad)
    steps = {
        d: review_step(dt.date(2026, 7, d), TY) for d in (1, 3, 4, 10, 11, 15, 16, 20, 21, 30, 31)
    }
    assert steps[1].step == steps[3].step == "医院报送复核资料"
    assert steps[4].step == steps[10].step == "整理资料、随机抽取各专业专家"
    assert steps[11].step == steps[15].step == "专家复核"
    assert steps[16].step == steps[20].step == "整理结果并告知医院"
    assert steps[21].step == steps[30].step == "申诉病种3名专家二次复核"
    assert steps[31] is None and review_step(dt.date(2026, 8, 5), TY) is None
    assert review_step(dt.date(2027, 1, 5), TY).quarter.label == "2027Q1"
    assert [s.last_day for s in review_calendar(q, TY)][-1] == dt.date(2026, 7, 30)
    with pytest.raises(UsageError, match="taiyuan"):
        review_step(dt.date(2026, 7, 5), ZZ)


def test_extension_when_avoidance_leaves_a_case_without_a_reviewer():
    cases = [
        Pick(c, "s", 0, k, h)
        for c, k, h in (("c1", "1", "H1"), ("c2", "2", "H1"), ("c3", "3", "H2"), ("c4", "4", "H1"))
    ]
    experts = [
        Pick(e, "s", n, "", h)
        for n, (e, h) in enumerate(
            (("A", "H1"), ("B", "H1"), ("C", "H2"), ("D", "H3"), ("E", "H4")), 1
        )
    ]
    k, pairs, missing = plan_specialty(cases, experts, min_experts=2, per_expert=2)
    assert (k, missing) == (4, [])
    assert pairs == [("c1", "C"), ("c2", "D"), ("c3", "A"), ("c4", "C")]
    k, pairs, missing = plan_specialty(cases, experts[:2], min_experts=2, per_expert=2)
    assert (k, missing) == (2, ["c1", "c2", "c4"])
    k, _, _ = plan_specialty([], experts, min_experts=2, per_expert=2)
    assert k == 2
    many = [Pick(f"c{n}", "s", 0, f"{n:03d}", "H9") for n in range(45)]
    assert plan_specialty(many, experts, 2, 20)[0] == 3


def test_avoidance_covers_the_other_campuses_of_the_case_hospital():
    """ZZ-AVOID: H3 is a campus of H2 (group), so C (H2) and D (H3) may not review c3 (H2)."""
    cases = [Pick("c3", "s", 0, "3", "H2")]
    experts = [Pick(e, "s", n, "", h) for n, (e, h) in enumerate((("C", "H2"), ("D", "H3")), 1)]
    _, pairs, _ = plan_specialty(cases, experts, min_experts=2, per_expert=2)
    assert pairs == [("c3", "D")]  # without the group D may review it
    _, pairs, missing = plan_specialty(cases, experts, 2, 2, groups={"H3": "H2"})
    assert (pairs, missing) == ([], ["c3"])
    extra = [*experts, Pick("E", "s", 3, "", "H4")]
    k, pairs, _ = plan_specialty(cases, extra, 2, 2, groups={"H3": "H2"})
    assert (k, pairs) == (3, [("c3", "E")])


def test_review_plan_double_random_with_avoidance(con):
    cases = review_world(con)
    plan = review_plan(con, parse_quarter("2026Q3"), SEED, AS_OF, TY, operator="张操作")
    # first random: ceil(10% × n) per hospital of the Q2 certified cases
    expected_cases = {
        h: [i for i, _ in first_k(SEED, ids, math.ceil(len(ids) / 10))] for h, ids in cases.items()
    }
    got = {h: [p.id for p in plan.cases.picks if p.stratum == h] for h in cases}
    assert got == expected_cases
    assert {h: len(v) for h, v in got.items()} == {"H1": 2, "H2": 3, "H3": 1, "H4": 1}
    # second random, endocrine: one H4 case, experts by key; H4 experts must be passed over
    order = [i for i, _ in first_k(SEED, ENDO_POOL, 4)]
    first_other = next(n for n, e in enumerate(order) if ENDO_POOL[e] != "H4")
    endo = [p.id for p in plan.experts.picks if p.stratum == "内分泌科"]
    assert endo == order[: max(2, first_other + 1)]
    endo_case = expected_cases["H4"][0]
    assert [a["expert_id"] for a in plan.assignments if a["case_id"] == endo_case] == [
        order[first_other]
    ]
    # cardio: 6 cases → max(2, ceil(6/20)) = 2 experts unless avoidance forces more
    cardio = [p.id for p in plan.experts.picks if p.stratum == "心血管内科"]
    cardio_order = [i for i, _ in first_k(SEED, CARDIO_POOL, 9)]
    assert cardio == cardio_order[: len(cardio)] and len(cardio) >= 2
    hospital_of = {**CARDIO_POOL, **ENDO_POOL}
    assert sorted(a["case_id"] for a in plan.assignments) == sorted(
        i for v in expected_cases.values() for i in v
    )
    for a in plan.assignments:
        assert hospital_of[a["expert_id"]] != a["case_hospital_id"]
    assert plan.unassigned == []
    assert verify_log(con).ok


def test_review_plan_avoids_whole_groups_and_verifies(con):
    """ZZ-AVOID in the review plan: with H1 a campus of H2, no H1 or H2 expert reviews a case of
    either; the groups are in the record, so verify-log re-derives the assignment."""
    review_world(con)
    con.execute("update stg_hospitals set group_id = 'H2' where hospital_id = 'H1'")
    plan = review_plan(con, parse_quarter("2026Q3"), SEED, AS_OF, TY, operator="张操作")
    assert plan.experts.record.params()["hospital_groups"] == {"H1": "H2"}
    group = {"H1": "H2"}
    hospital_of = {**CARDIO_POOL, **ENDO_POOL}
    assert plan.assignments
    for a in plan.assignments:
        expert_group = group.get(hospital_of[a["expert_id"]], hospital_of[a["expert_id"]])
        assert expert_group != group.get(a["case_hospital_id"], a["case_hospital_id"])
    assert verify_log(con).ok


def test_review_plan_cli_output_and_profile_check(con, db_path, tmp_path, capsys):
    review_world(con)
    con.close()
    out, cases_out = tmp_path / "plan.csv", tmp_path / "cases.csv"
    argv = [
        "review-plan",
        "--db",
        str(db_path),
        "--quarter",
        "2026Q3",
        "--seed",
        SEED,
        "--as-of",
        "2026-07-06 09:00",
        "--out",
        str(out),
        "--cases-out",
        str(cases_out),
    ]
    code, _, err = run_cli([*argv, "--profile", "taiyuan"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(read(out).splitlines()))
    assert list(rows[0]) == [
        "specialty",
        "expert_rank",
        "expert_id",
        "expert_hospital_id",
        "expert_key",
        "case_hospital_id",
        "case_rank",
        "case_id",
        "case_key",
    ]
    assigned = [r for r in rows if r["case_id"]]
    assert len(assigned) == 7
    assert all(r["expert_hospital_id"] != r["case_hospital_id"] for r in assigned)
    assert read(cases_out).splitlines()[0] == "hospital_id,rank,case_id,key"
    assert "2026Q3" in err and "整理资料、随机抽取各专业专家" in err
    code, _, err = run_cli([*argv, "--profile", "zhengzhou"], capsys)
    assert code == 2 and "TY-REVIEW" in err


def test_appeal_panel_avoids_hospital_reviewers_and_certifiers(con, db_path, tmp_path, capsys):
    review_world(con)
    plan = review_plan(con, parse_quarter("2026Q3"), SEED, AS_OF, TY)
    case = next(a for a in plan.assignments if a["case_id"].startswith("H1"))
    con.close()
    out = tmp_path / "appeal.csv"
    argv = [
        "appeal-panel",
        "--profile",
        "taiyuan",
        "--db",
        str(db_path),
        "--case",
        case["case_id"],
        "--seed",
        "271828",
        "--as-of",
        "2026-07-22 09:00",
        "--out",
        str(out),
    ]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    avoid = {case["expert_id"]} | ({"X6"} if case["case_id"] == "H1-00" else set())
    pool = [e for e, h in CARDIO_POOL.items() if h != "H1" and e not in avoid]
    expected = ["rank,expert_id,hospital_id,key"] + [
        f"{n},{e},{CARDIO_POOL[e]},{k}" for n, (e, k) in enumerate(first_k("271828", pool, 3), 1)
    ]
    assert read(out).splitlines() == expected


def test_appeal_panel_avoids_the_certifying_experts(con):
    review_world(con)
    res = appeal_panel(con, "H1-00", "1", AS_OF, TY)
    assert res.record.params()["avoid_experts"] == ["X6"]
    assert {p.id for p in res.picks} == {"X2", "X4", "X5"}
    assert verify_log(con).ok


def test_a_replaced_reviewer_is_succeeded_by_one_outside_the_cases_hospitals(con):
    review_world(con)
    plan = review_plan(con, parse_quarter("2026Q3"), SEED, AS_OF, TY)
    gone = next(a["expert_id"] for a in plan.assignments if a["expert_id"] in CARDIO_POOL)
    hospitals = {a["case_hospital_id"] for a in plan.assignments if a["expert_id"] == gone}
    new = replace(con, plan.experts.draw_id, gone, "与被复核医院存在利益关系").picks[0]
    assert CARDIO_POOL[new.id] not in hospitals
    state = current_state(con, plan.experts.draw_id)
    assert gone not in {a["expert_id"] for a in state.assignments}
    assert {a["case_hospital_id"] for a in state.assignments if a["expert_id"] == new.id} >= (
        hospitals
    )
    assert verify_log(con).ok
